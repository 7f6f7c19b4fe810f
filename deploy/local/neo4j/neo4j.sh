#!/usr/bin/env bash
# Runs a real Neo4j 5.26 (community, embedded, Bolt on 127.0.0.1) for
# Redthread's tests and local runs, from Maven Central jars: no Docker, no
# server tarball. See README.md beside this file.
#
#   neo4j.sh start    resolve the jars and compile Main (both cached), start
#                     the server in the background unless it already runs,
#                     and wait until Bolt answers
#   neo4j.sh stop     stop the server this script started on NEO4J_PORT
#   neo4j.sh status   say whether it runs (exit 0) or not (exit 1)
#   neo4j.sh uri      print the Bolt URI, e.g. bolt://127.0.0.1:7687
#   neo4j.sh pid      print the running server's pid (exit 1 when it does not run),
#                     e.g. for `redthread bench --store-pid`
#                     (bolt+s:// when NEO4J_TLS_DIR is set)
#   neo4j.sh image    build a Docker image of this same server, for a Docker
#                     engine that cannot pull the official neo4j image (no
#                     registry), and print its tag (see README.md)
#
# Environment (all optional):
#   NEO4J_PORT          Bolt port (7687)
#   NEO4J_VERSION       a 5.26.x release on Maven Central (the pom's)
#   NEO4J_CACHE         where jars, classes and servers live (~/.cache/redthread/neo4j)
#   NEO4J_HOME_DIR      the server's home: data, Neo4j's own logs (NEO4J_CACHE/server-PORT)
#   NEO4J_HEAP          JVM heap (1g)
#   NEO4J_PAGECACHE_MB  page cache in MiB (128)
#   NEO4J_BOLT_KEEPALIVE  server.bolt.connection_keep_alive_for_requests: ALL (Neo4j's
#                       default), STREAMING or OFF (no read-timeout hint to drivers)
#   NEO4J_START_TIMEOUT seconds to wait for Bolt (300)
#   NEO4J_PASSWORD      turn auth on, with this password (8+ characters) for
#                       the user neo4j; unset: auth off
#   NEO4J_TLS_DIR       turn TLS on (required) with private.key (PKCS#8 PEM)
#                       and public.crt (PEM) from this directory; unset: off
#   JAVA_HOME           a Java 17+ JDK (else java/javac on PATH)
#   NEO4J_IMAGE         image: the tag to build (redthread/neo4j-local:VERSION)
#   NEO4J_BASE_IMAGE    image: a local image with Java 17 on PATH to build on;
#                       unset: redthread/jre17-base:bookworm, made once by
#                       debootstrap from DEBIAN_MIRROR (http://deb.debian.org/debian)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
port=${NEO4J_PORT:-7687}
cache=${NEO4J_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redthread/neo4j}
home=${NEO4J_HOME_DIR:-$cache/server-$port}
heap=${NEO4J_HEAP:-1g}
pagecache=${NEO4J_PAGECACHE_MB:-128}
timeout=${NEO4J_START_TIMEOUT:-300}
pidfile=$home/neo4j.pid
logfile=$home/neo4j.out
ready_marker='redthread-neo4j: ready on bolt://127.0.0.1:'

java=java
javac=javac
if [ -n "${JAVA_HOME:-}" ]; then
  java=$JAVA_HOME/bin/java
  javac=$JAVA_HOME/bin/javac
fi

say() { echo "neo4j: $*" >&2; }

# version is the Neo4j release to run: NEO4J_VERSION, or the pom's.
version() {
  if [ -n "${NEO4J_VERSION:-}" ]; then
    echo "$NEO4J_VERSION"
  else
    sed -n 's:.*<neo4j.version>\(.*\)</neo4j.version>.*:\1:p' "$here/pom.xml"
  fi
}

uri() {
  if [ -n "${NEO4J_TLS_DIR:-}" ]; then
    echo "bolt+s://127.0.0.1:$port"
  else
    echo "bolt://127.0.0.1:$port"
  fi
}

# answers reports whether something accepts TCP connections on the port.
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# running reports whether the server recorded in the pid file is alive.
# The pid must still be our java process: after a reboot or a SIGKILL the
# file outlives the server and its number may belong to anything.
running() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF " Main $home " || return 1
  fi
}

# resolve copies the Neo4j jars and their dependencies from Maven Central
# (through ~/.m2) into the version's lib directory, once.
resolve() {
  local v=$1 lib=$cache/$1/lib
  if [ -f "$lib/.complete" ]; then
    return 0
  fi
  command -v mvn >/dev/null || { say "mvn not found (apt-get install -y maven)"; exit 1; }
  say "resolving Neo4j $v jars from Maven Central into $lib (first time only)"
  rm -rf "$lib.tmp"
  mkdir -p "$cache/$v"
  if ! mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -Dneo4j.version="$v" \
    org.apache.maven.plugins:maven-dependency-plugin:3.11.0:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib.tmp" >"$cache/$v/mvn.log" 2>&1; then
    say "Maven failed; last lines of $cache/$v/mvn.log:"
    tail -n 40 "$cache/$v/mvn.log" >&2
    exit 1
  fi
  rm -rf "$lib"
  mv "$lib.tmp" "$lib"
  touch "$lib/.complete"
}

# compile builds Main.class for the version, again only when Main.java changed.
compile() {
  local v=$1 classes=$cache/$1/classes sum
  sum=$(sha256sum "$here/Main.java" | cut -d' ' -f1)
  if [ -f "$classes/Main.class" ] && [ "$(cat "$classes/.source-sha256" 2>/dev/null)" = "$sum" ]; then
    return 0
  fi
  say "compiling Main.java into $classes"
  rm -rf "$classes"
  mkdir -p "$classes"
  "$javac" -nowarn -d "$classes" -cp "$cache/$v/lib/*" "$here/Main.java"
  echo "$sum" >"$classes/.source-sha256"
}

start() {
  if running; then
    if answers; then
      say "already running (pid $(cat "$pidfile")) at $(uri); log: $logfile"
      uri
      return 0
    fi
    say "pid $(cat "$pidfile") is alive but $(uri) does not answer yet; waiting"
    wait_ready "$(cat "$pidfile")"
    uri
    return 0
  fi
  if answers; then
    say "something else listens on 127.0.0.1:$port (not started by this script); set NEO4J_PORT, or REDTHREAD_NEO4J_URI to use it"
    exit 1
  fi
  if [ -n "${NEO4J_PASSWORD:-}" ] && [ "${#NEO4J_PASSWORD}" -lt 8 ]; then
    say "NEO4J_PASSWORD must have at least 8 characters (Neo4j's minimum)"
    exit 1
  fi
  if [ -n "${NEO4J_TLS_DIR:-}" ]; then
    local f
    for f in private.key public.crt; do
      [ -r "$NEO4J_TLS_DIR/$f" ] || { say "NEO4J_TLS_DIR=$NEO4J_TLS_DIR has no readable $f"; exit 1; }
    done
  fi
  local v
  v=$(version)
  resolve "$v"
  compile "$v"
  mkdir -p "$home"
  local auth=off
  [ -n "${NEO4J_PASSWORD:-}" ] && auth="on, user neo4j"
  say "starting Neo4j $v on $(uri) (heap $heap, page cache ${pagecache} MiB, auth $auth)"
  say "home: $home; log: $logfile; Neo4j's own logs: $home/logs"
  # setsid: the server outlives the shell (and make) that started it, and
  # is not sent their terminal's signals.
  setsid "$java" "-Xmx$heap" "-Xms64m" -XX:+UseSerialGC \
    --add-opens=java.base/java.nio=ALL-UNNAMED \
    --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/java.lang=ALL-UNNAMED \
    -Dio.netty.tryReflectionSetAccessible=true \
    -cp "$cache/$v/lib/*:$cache/$v/classes" Main "$home" "$port" "$pagecache" \
    </dev/null >"$logfile" 2>&1 &
  local pid=$!
  echo "$pid" >"$pidfile"
  wait_ready "$pid"
  uri
}

# wait_ready waits until the server printed its ready line and its port
# answers, or fails with the end of its log if it died or took too long.
wait_ready() {
  local pid=$1 waited=0
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the server exited; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      rm -f "$pidfile"
      exit 1
    fi
    if grep -q "$ready_marker" "$logfile" 2>/dev/null && answers; then
      say "ready at $(uri) after ${waited}s (pid $pid)"
      return 0
    fi
    if [ "$waited" -ge "$timeout" ]; then
      say "not ready after ${timeout}s; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

stop() {
  if ! running; then
    say "not running on port $port"
    rm -f "$pidfile"
    return 0
  fi
  local pid waited=0
  pid=$(cat "$pidfile")
  say "stopping pid $pid"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge 120 ]; then
      say "pid $pid did not stop within 120s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$pidfile"
  say "stopped"
}

status() {
  if running && answers; then
    say "running (pid $(cat "$pidfile")) at $(uri); log: $logfile"
    return 0
  fi
  if running; then
    say "pid $(cat "$pidfile") is alive but $(uri) does not answer; log: $logfile"
    return 1
  fi
  say "not running on port $port"
  return 1
}

# image builds a Docker image running this script's Neo4j (the same jars
# and Main), for engines that cannot pull the official image. Its Bolt
# port is 7687 on every interface of the container; auth and TLS stay off.
# It is rebuilt only when the version or Main.java changed.
image() {
  command -v docker >/dev/null || { say "docker not found"; exit 1; }
  docker info >/dev/null 2>&1 || { say "no Docker engine answers (docker info failed)"; exit 1; }
  local v sum tag base ctx
  v=$(version)
  resolve "$v"
  compile "$v"
  sum=$(cat "$cache/$v/classes/.source-sha256")
  tag=${NEO4J_IMAGE:-redthread/neo4j-local:$v}
  if [ "$(docker image inspect -f '{{index .Config.Labels "org.redthread.main-sha256"}}' "$tag" 2>/dev/null)" = "$sum" ]; then
    say "image $tag is current"
    echo "$tag"
    return 0
  fi
  base=${NEO4J_BASE_IMAGE:-redthread/jre17-base:bookworm}
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    if [ -n "${NEO4J_BASE_IMAGE:-}" ]; then
      say "base image $base is not in the engine"
      exit 1
    fi
    command -v debootstrap >/dev/null || { say "debootstrap not found (apt-get install -y debootstrap)"; exit 1; }
    local root
    root=$(mktemp -d)
    say "building $base: Debian bookworm (minbase) with openjdk-17-jre-headless, by debootstrap (first time only)"
    if ! debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$root" \
      "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1; then
      say "debootstrap failed; last lines of $cache/debootstrap.log:"
      tail -n 20 "$cache/debootstrap.log" >&2
      rm -rf "$root"
      exit 1
    fi
    tar -C "$root" -c . | docker import - "$base" >/dev/null
    rm -rf "$root"
  fi
  ctx=$(mktemp -d)
  cp -r "$cache/$v/lib" "$cache/$v/classes" "$ctx/"
  {
    echo "FROM $base"
    echo "COPY lib /opt/neo4j/lib"
    echo "COPY classes /opt/neo4j/classes"
    echo "ENV NEO4J_LISTEN_ADDRESS=0.0.0.0"
    echo "EXPOSE 7687"
    echo "LABEL org.redthread.main-sha256=$sum org.redthread.neo4j-version=$v"
    echo 'ENTRYPOINT ["java", "-Xmx1g", "-Xms64m", "-XX:+UseSerialGC",' \
      '"--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",' \
      '"--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",' \
      '"-Dio.netty.tryReflectionSetAccessible=true",' \
      '"-cp", "/opt/neo4j/lib/*:/opt/neo4j/classes", "Main", "/data", "7687"]'
  } >"$ctx/Dockerfile"
  say "building image $tag"
  # The classic builder needs no buildx plugin, which an engine without a
  # registry is likely to lack as well.
  if ! DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >"$cache/image-build.log" 2>&1; then
    say "docker build failed; last lines of $cache/image-build.log:"
    tail -n 20 "$cache/image-build.log" >&2
    rm -rf "$ctx"
    exit 1
  fi
  rm -rf "$ctx"
  echo "$tag"
}

case "${1:-}" in
  start) start ;;
  image) image ;;
  stop) stop ;;
  status) status ;;
  uri) uri ;;
  pid)
    if running; then
      cat "$pidfile"
    else
      say "not running on port $port"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|status|uri|pid|image" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Chooses the real Neo4j that `make test` runs the tests against, gets it
# ready, and prints the environment that names it as export lines for the
# caller to eval (everything else goes to stderr):
#
#   1. REDTHREAD_NEO4J_URI set: that server; nothing is started.
#   2. Else, where a Docker engine answers (or REDTHREAD_NEO4J_DOCKER=1):
#      the tests start one themselves with testcontainers-go's Neo4j module
#      (internal/neo4jtest). The image is REDTHREAD_NEO4J_IMAGE, else the
#      official neo4j:5.26-community when the engine has it or can pull it,
#      else one built from Maven Central's jars (deploy/local/neo4j/neo4j.sh
#      image), for engines without a registry.
#   3. Else (or REDTHREAD_NEO4J_DOCKER=0): deploy/local/neo4j on NEO4J_PORT.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
official=neo4j:5.26-community
say() { echo "neo4j-for-tests: $*" >&2; }

if [ -n "${REDTHREAD_NEO4J_URI:-}" ]; then
  say "using REDTHREAD_NEO4J_URI=$REDTHREAD_NEO4J_URI; not starting one"
  exit 0
fi

mode=${REDTHREAD_NEO4J_DOCKER:-}
if [ -z "$mode" ]; then
  mode=0
  if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
    mode=1
  fi
fi

if [ "$mode" != 1 ]; then
  uri=$("$here/deploy/local/neo4j/neo4j.sh" start)
  echo "export REDTHREAD_NEO4J_DOCKER=0 REDTHREAD_NEO4J_URI=$uri"
  exit 0
fi

image=${REDTHREAD_NEO4J_IMAGE:-}
if [ -z "$image" ]; then
  if docker image inspect "$official" >/dev/null 2>&1 || timeout 600 docker pull -q "$official" >/dev/null 2>&1; then
    image=$official
  else
    say "the engine cannot pull $official; building the same Neo4j from Maven Central's jars"
    image=$("$here/deploy/local/neo4j/neo4j.sh" image)
  fi
fi
say "a Docker engine answers: the Neo4j tests start $image with testcontainers-go"
# The tests stop their containers themselves; the reaper (another image to
# pull) only cleans up after a killed test binary, so it stays off unless
# asked for.
echo "export REDTHREAD_NEO4J_DOCKER=1 REDTHREAD_NEO4J_IMAGE=$image TESTCONTAINERS_RYUK_DISABLED=${TESTCONTAINERS_RYUK_DISABLED:-true}"

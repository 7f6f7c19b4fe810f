#!/usr/bin/env bash
# Regenerates cmd/redthread/default.pgo, the CPU profile that `go build`
# uses for profile-guided optimisation of the redthread binary: it starts a
# server on a temporary data dir, profiles it for PGO_SECONDS while
# `redthread bench` runs the single, batch and lineage scenarios against
# it, and writes the profile. Run it (`make pgo`) after changes that move
# the hot paths; the old profile still works, only less well.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${PGO_SECONDS:-45}
listen=127.0.0.1:${PGO_PORT:-5093}
pprof=127.0.0.1:${PGO_PPROF_PORT:-6093}
bin=$(mktemp -d)/redthread
data=$(mktemp -d)
out=cmd/redthread/default.pgo

go build -o "$bin" ./cmd/redthread
"$bin" serve --data-dir "$data" --listen "$listen" --pprof-listen "$pprof" --log-level warn &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data" "$(dirname "$bin")"' EXIT
for _ in $(seq 100); do
	curl -sf "http://$listen/healthz" >/dev/null && break
	sleep 0.1
done

echo "pgo: profiling the server for ${seconds}s while the bench runs"
curl -sf "http://$pprof/debug/pprof/profile?seconds=$seconds" -o "$out.tmp" &
profiler=$!
"$bin" bench --url "http://$listen" --scenario single,batch,lineage --nodes 100000 --events 12000 --queries 200 >/dev/null
wait $profiler
mv "$out.tmp" "$out"
echo "pgo: wrote $out ($(wc -c <"$out") bytes)"

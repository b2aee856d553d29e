#!/usr/bin/env bash
# One command for every benchmark: bench/run.sh [--quick] [--repeat N] [--only LETTERS]
#   writes bench/RESULTS.md, bench/results.json and bench/*.png (--quick: bench/quick-RESULTS.md, quick-results.json, quick-*.png)
#   --repeat N   the gateway comparison N times (N >= 3 for a spread worth reading), fresh processes each time; every run's
#                figures are kept in bench/results/runs/run-K.json (--quick: runs-quick/), and RESULTS.md's headline gives
#                each figure's median (min-max over the N runs); the tables below it are the last run's
#   --only LETTERS  only these regimes (a sequential + HAProxy floor, b open loop, c connection patterns, d many streams,
#                e per-chunk gaps, f sustained paced streams, h hedging), e.g. --only ef; skips the microbenchmarks
#   bench/run.sh client-overhead   the client library's multiplexing cost (bench/results/client-overhead.md)
#   bench/run.sh embedding-overhead [rounds] [perRound]   Embedding (1 and 256 inputs) through the gateway vs direct (bench/results/embedding-overhead.md)
#   bench/run.sh micro             BenchmarkDotNet microbenchmarks only (bench/results/microbench.md)
#   bench/run.sh hedging [--quick] [--hedge-runs N]   time to first token with and without hedging, a sometimes-slow
#                                  primary (bench/results/hedging.md, .json, hedging-ttft.png); the full run includes it
# Needs: the .NET SDK, node + npm (for the Portkey peer; skipped with a note if absent), taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
quick=""
[[ " $* " == *" --quick "* ]] && quick="--quick"

dotnet build src/IntegrationApi/IntegrationApi.csproj -c Release -v q -nologo
dotnet build bench/IntegrationApi.Bench/IntegrationApi.Bench.csproj -c Release -v q -nologo
bench_dll=bench/IntegrationApi.Bench/bin/Release/net10.0/IntegrationApi.Bench.dll

if [[ "$mode" == "client-overhead" ]]; then
  shift; exec dotnet "$bench_dll" client-overhead "$@"
fi
if [[ "$mode" == "embedding-overhead" ]]; then
  shift; exec dotnet "$bench_dll" embedding-overhead "$@"
fi

# Gateways left running by an earlier run that was killed or crashed would share the gateway core with this one.
for leftover in "$PWD/bench/.work/audit.db" "$PWD/bench/.peers/node_modules" "$PWD/bench/.work/haproxy.cfg"; do
  if pkill -f -- "$leftover"; then echo "warning: stopped gateway processes left by an earlier run ($leftover)" >&2; fi
done

cpus=$(nproc)
gateway_cpu=0
load_cpu=$(( cpus > 1 ? 1 : 0 ))

micro() {
  dotnet build bench/IntegrationApi.MicroBench/IntegrationApi.MicroBench.csproj -c Release -v q -nologo
  taskset -c "$gateway_cpu" dotnet bench/IntegrationApi.MicroBench/bin/Release/net10.0/IntegrationApi.MicroBench.dll $quick
}
if [[ "$mode" == "micro" ]]; then micro; exit 0; fi
if [[ "$mode" == "hedging" ]]; then
  shift; exec taskset -c "$load_cpu" dotnet "$bench_dll" gateways --only h --gateway-cpu "$gateway_cpu" --load-cpu "$load_cpu" "$@"
fi

# The peer: Portkey's gateway from npm, pinned to the version this report was made with.
peers=bench/.peers
portkey_args=()
if command -v npm >/dev/null && command -v node >/dev/null; then
  if [[ ! -f "$peers/node_modules/@portkey-ai/gateway/package.json" ]]; then
    mkdir -p "$peers"
    (cd "$peers" && npm install --no-audit --no-fund --loglevel=error @portkey-ai/gateway@1.15.2 >/dev/null) \
      || echo "warning: npm could not install @portkey-ai/gateway; the peer is skipped" >&2
  fi
  portkey_args=(--portkey "$PWD/$peers")
else
  echo "warning: node/npm not found; the Portkey peer is skipped" >&2
fi

# The comparison's own options (--quick, --repeat N, --only LETTERS, --hedge-runs N) pass through as they are.
[[ " $* " == *" --only "* ]] || micro
# The gateway core's processes (ours, the peer, HAProxy) and the load side each hold one descriptor per connection:
# regime (f) holds up to 10,000 streams. Raise the soft limit as far as the hard one allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
taskset -c "$load_cpu" dotnet "$bench_dll" gateways "$@" "${portkey_args[@]}" --gateway-cpu "$gateway_cpu" --load-cpu "$load_cpu"

#!/usr/bin/env bash
# Checks deploy/: the alert rules pass promtool, and a real Prometheus (Debian's package) scraping a running
# service (fakes + service + CLI, as scripts/demo.sh) loads them, and every query of the Grafana dashboard
# returns a series. Prints "N passed, N failed"; exits non-zero on failure.
#   bash deploy/check.sh [--no-build]
# No apt (and no prometheus installed): says so and exits 0 without checking.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
build=1; [ "${1:-}" = "--no-build" ] && build=0
dashboard=deploy/grafana/integration-api.json
rules=deploy/prometheus/alerts.yml
bin=bin/Debug/net10.0
start=$(date +%s)

if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deploy/check.sh: SKIPPED: prometheus is not installed and apt-get is unavailable"
    exit 0
  fi
  echo "== installing prometheus (apt)"
  if ! (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus ||
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus)) >/dev/null 2>&1; then
    echo "deploy/check.sh: SKIPPED: apt-get could not install prometheus"
    exit 0
  fi
  # The package's own service (on :9090) is not ours to run; stop it if the package started it.
  command -v systemctl >/dev/null 2>&1 && systemctl stop prometheus >/dev/null 2>&1 || true
fi

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "  PASS $*"; }
ko() { failed=$((failed + 1)); echo "  FAIL $*"; }
finish() { echo "deploy checks: $(( $(date +%s) - start ))s"; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

echo "== promtool check rules $rules"
if promtool check rules "$rules"; then ok "promtool check rules"; else ko "promtool check rules"; fi
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$dashboard"; then ok "dashboard is JSON"; else ko "dashboard is JSON"; finish; fi

if [ "$build" -eq 1 ]; then
  echo "== building"
  dotnet build IntegrationApi.sln -nologo -v q >/dev/null || { ko "dotnet build"; finish; }
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() { python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
EOF
}
read -r grpc_port http_port prom_port closed_port <<<"$(free_ports 4)"

echo "== starting the provider fakes"
tools/IntegrationApi.FakeProviders/$bin/fake-providers > "$work/fakes.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q REPLICATE_BASE_URL "$work/fakes.out" 2>/dev/null && break; sleep 0.1; done
url() { sed -n "s/^$1_BASE_URL=//p" "$work/fakes.out"; }
[ -n "$(url OPENAI)" ] || { ko "fakes started"; cat "$work/fakes.out"; finish; }

# Mistral points at a closed port, so its requests are retried and fail (retries, failed attempts, errors);
# one slot per stream makes concurrent requests queue (queue depth).
echo "== starting the service (gRPC 127.0.0.1:$grpc_port, /metrics on :$http_port)"
src/IntegrationApi/$bin/IntegrationApi --environment Development --contentRoot "$PWD/src/IntegrationApi" \
  --Kestrel:Endpoints:Grpc:Url="http://127.0.0.1:$grpc_port" --Kestrel:Endpoints:Http:Url="http://127.0.0.1:$http_port" \
  --Kestrel:Endpoints:OpenAI:Url="http://127.0.0.1:0" \
  --Providers:OpenAI:BaseUrl="$(url OPENAI)" --Providers:Anthropic:BaseUrl="$(url ANTHROPIC)" \
  --Providers:Gemini:BaseUrl="$(url GEMINI)" --Providers:Cohere:BaseUrl="$(url COHERE)" \
  --Providers:Mistral:BaseUrl="http://127.0.0.1:$closed_port/" --Providers:Replicate:BaseUrl="$(url REPLICATE)" \
  --Engine:MaxRetries=1 --Engine:RetryBaseDelay=00:00:00.010 --Engine:MaxConcurrentRequestsPerStream=1 \
  --Audit:SqlitePath="$work/audit.db" --Audit:SpoolPath="$work/audit-spool.db" --Auth:KeyStorePath="$work/keys.db" \
  --Logging:LogLevel:Default=Warning > "$work/service.out" 2>&1 &
pids+=($!)

cli() { timeout 30 tools/IntegrationApi.Cli/$bin/integration-cli --address "http://127.0.0.1:$grpc_port" --api-key rpd-prj-dev-key --key demo-key --wait 30 "$@" >>"$work/cli.out" 2>&1; }
traffic() {
  cli --provider openai --model gpt-4o-mini --concurrent "What is a gRPC stream?" "Name three rivers." "Say hi."
  cli --provider anthropic "Tell me a short joke."
  cli --provider gemini "Hello."
  cli --provider mistral "This one is retried, then fails." || true
  cli --provider openai --key wrong-key "This one gets a 401." || true
  timeout 30 tools/IntegrationApi.Cli/$bin/integration-cli --address "http://127.0.0.1:$grpc_port" --api-key not-a-key \
    --key demo-key --provider openai "refused" >>"$work/cli.out" 2>&1 || true   # an auth failure
}
echo "== sending chats"
if cli --provider openai "first"; then ok "service answers a chat"; else ko "service answers a chat"; tail -20 "$work/cli.out" "$work/service.out"; finish; fi
traffic

echo "== starting prometheus on 127.0.0.1:$prom_port"
cat > "$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/$rules
scrape_configs:
  - job_name: integration-api
    static_configs:
      - targets: ["127.0.0.1:$http_port"]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn > "$work/prometheus.out" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$prom_port/api/v1"
query() { curl -sf --max-time 5 "$api/query" --data-urlencode "query=$1"; }

scraped=0
for _ in $(seq 1 60); do
  [ "$(query 'up{job="integration-api"}' 2>/dev/null | jq -r '.data.result[0].value[1] // empty' 2>/dev/null)" = "1" ] && { scraped=1; break; }
  sleep 0.5
done
if [ "$scraped" -eq 1 ]; then ok "prometheus scraped /metrics (up == 1)"; else ko "prometheus scraped /metrics"; tail -20 "$work/prometheus.out"; finish; fi

# A second round after the first scrape, so rates and quantiles have increases to work on.
traffic
sleep 3

echo "== rules loaded (/api/v1/rules)"
expected=$(grep -c '^ *- alert:' "$rules")
rules_json=$(curl -sf --max-time 5 "$api/rules")
loaded=$(echo "$rules_json" | jq '[.data.groups[].rules[]] | length')
if [ "$loaded" = "$expected" ]; then ok "$loaded of $expected alert rules loaded"; else ko "alert rules loaded: $loaded of $expected"; fi
bad=$(echo "$rules_json" | jq -r '.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.health) \(.lastError // "")"')
if [ -z "$bad" ]; then ok "every rule evaluates (health ok)"; else ko "rules not healthy: $bad"; fi

echo "== dashboard queries (\$__rate_interval -> 1m, \$instance -> .*)"
exprs=$(jq -r '.panels[].targets[].expr' "$dashboard")
while IFS= read -r expr; do
  q=${expr//\$__rate_interval/1m}; q=${q//\$instance/.*}
  found=0
  for _ in $(seq 1 10); do   # a rate needs two scrapes with an increase between them: wait (bounded)
    n=$(query "$q" | jq '[.data.result[] | select(.value[1] | test("^[-+]?[0-9]"))] | length' 2>/dev/null)
    [ "${n:-0}" -gt 0 ] && { found=1; break; }
    sleep 1
  done
  if [ "$found" -eq 1 ]; then ok "$n series: $expr"; else ko "no series with a value: $expr"; fi
done <<<"$exprs"

echo "== metric names used by the dashboard and the rules exist (scraped) or are documented"
known=$(curl -sf --max-time 5 "$api/label/__name__/values" | jq -r '.data[]')
names=$( (jq -r '.panels[].targets[].expr' "$dashboard"; cat "$rules") | grep -oE '\b(integration_api|gen_ai)_[a-zA-Z_]+' | sort -u)
for name in $names; do
  base=$(echo "$name" | sed -E 's/_(bucket|sum|count)$//')
  if echo "$known" | grep -qx "$name"; then ok "metric $name (scraped)"
  elif grep -q "$name\|$base" docs/observability.md README.md; then ok "metric $name (documented, not yet emitted)"
  else ko "metric $name neither scraped nor documented"; fi
done

finish

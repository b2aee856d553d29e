#!/usr/bin/env bash
# Runs the client examples against the built service and the provider fakes (as scripts/demo.sh starts them):
# the Node example (examples/node), the Python example (examples/python) and one streamed call to the
# OpenAI-compatible HTTP surface. Prints "N passed, N failed"; exits non-zero on failure.
#   bash examples/run.sh [--no-build]
# Needs node + npm (the example's packages come from the npm registry with `npm ci`) and Debian's
# python3-grpcio + python3-grpc-tools for /usr/bin/python3; a missing one is a failed check, named.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
build=1; [ "${1:-}" = "--no-build" ] && build=0
bin=bin/Debug/net10.0
python=/usr/bin/python3   # Debian's, which has python3-grpcio and python3-grpc-tools (not a pyenv one on PATH)
start=$(date +%s)

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "  PASS $*"; }
ko() { failed=$((failed + 1)); echo "  FAIL $*"; }
finish() { echo "example checks: $(( $(date +%s) - start ))s"; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

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

read -r grpc_port http_port openai_port <<<"$("$python" - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
PY
)"

echo "== starting the provider fakes"
tools/IntegrationApi.FakeProviders/$bin/fake-providers > "$work/fakes.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q REPLICATE_BASE_URL "$work/fakes.out" 2>/dev/null && break; sleep 0.1; done
url() { sed -n "s/^$1_BASE_URL=//p" "$work/fakes.out"; }
[ -n "$(url OPENAI)" ] || { ko "fakes started"; cat "$work/fakes.out"; finish; }

echo "== starting the service (gRPC 127.0.0.1:$grpc_port, OpenAI-compatible HTTP 127.0.0.1:$openai_port)"
src/IntegrationApi/$bin/IntegrationApi --environment Development --contentRoot "$PWD/src/IntegrationApi" \
  --Kestrel:Endpoints:Grpc:Url="http://127.0.0.1:$grpc_port" --Kestrel:Endpoints:Http:Url="http://127.0.0.1:$http_port" \
  --Kestrel:Endpoints:OpenAI:Url="http://127.0.0.1:$openai_port" \
  --Providers:OpenAI:BaseUrl="$(url OPENAI)" --Providers:Anthropic:BaseUrl="$(url ANTHROPIC)" \
  --Providers:Gemini:BaseUrl="$(url GEMINI)" --Providers:Cohere:BaseUrl="$(url COHERE)" \
  --Providers:Mistral:BaseUrl="$(url MISTRAL)" --Providers:Replicate:BaseUrl="$(url REPLICATE)" \
  --Audit:SqlitePath="$work/audit.db" --Audit:SpoolPath="$work/audit-spool.db" --Auth:KeyStorePath="$work/keys.db" \
  --Logging:LogLevel:Default=Warning > "$work/service.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 1 150); do
  "$python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://127.0.0.1:$http_port/healthz" 2>/dev/null && { up=1; break; }
  sleep 0.2
done
[ "$up" -eq 1 ] || { ko "service started"; tail -20 "$work/service.out"; finish; }

export INTEGRATION_API_ADDRESS="127.0.0.1:$grpc_port" INTEGRATION_API_KEY=rpd-prj-dev-key PROVIDER_KEY=demo-key

echo "== node example (examples/node)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  ko "node example: node and npm are not installed"
elif ! (cd examples/node && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.out" 2>&1); then
  ko "node example: npm ci failed"; tail -20 "$work/npm.out"
elif timeout 120 node examples/node/example.js; then ok "node example"; else ko "node example"; fi

echo "== python example (examples/python)"
if ! "$python" -c "import grpc, grpc_tools" 2>/dev/null; then
  ko "python example: $python lacks grpcio / grpc_tools (Debian: python3-grpcio python3-grpc-tools)"
elif timeout 120 "$python" examples/python/example.py; then ok "python example"; else ko "python example"; fi

echo "== OpenAI-compatible HTTP (POST /v1/chat/completions, streamed)"
if timeout 60 "$python" - "http://127.0.0.1:$openai_port" <<'PY'
import json, sys, urllib.request
body = {"model": "openai/gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Hello over HTTP"}]}
request = urllib.request.Request(sys.argv[1] + "/v1/chat/completions", data=json.dumps(body).encode(), method="POST",
    headers={"Authorization": "Bearer rpd-prj-dev-key", "x-provider-key": "demo-key", "Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=30) as response:
    events = [line[6:] for line in response.read().decode().split("\n") if line.startswith("data: ")]
text = "".join(c["choices"][0]["delta"].get("content") or "" for c in map(json.loads, events[:-1]) if c["choices"])
usage = [json.loads(e)["usage"] for e in events[:-1] if json.loads(e).get("usage")]
assert events[-1] == "[DONE]", events[-1]
assert text == "You said: Hello over HTTP", text
assert usage and usage[0]["total_tokens"] > 0, usage
print("  streamed:", text)
PY
then ok "OpenAI-compatible HTTP stream"; else ko "OpenAI-compatible HTTP stream"; fi

finish

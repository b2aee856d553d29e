#!/usr/bin/env bash
# The demo: starts loopback provider fakes, starts the service against them, and drives
# the CLI through multi-request streams. No API key and no network needed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "== building"
dotnet build IntegrationApi.sln -nologo -v q >/dev/null

echo "== starting the provider fakes"
bin=bin/Debug/net10.0
tools/IntegrationApi.FakeProviders/$bin/fake-providers > "$work/fakes.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q REPLICATE_BASE_URL "$work/fakes.out" 2>/dev/null && break; sleep 0.1; done
url() { sed -n "s/^$1_BASE_URL=//p" "$work/fakes.out"; }
for p in OPENAI ANTHROPIC GEMINI COHERE MISTRAL REPLICATE; do echo "   $p fake: $(url $p)"; done

# Port 0 unless DEMO_PORT is set: the system picks free ports, and the demo reads them from its own service's
# "Now listening on" lines, so it never talks to something else that already listens.
port="${DEMO_PORT:-0}"
http_port=0; openai_port=0; [ "$port" -ne 0 ] && http_port=$((port + 1)) && openai_port=$((port + 2))
touch "$work/service.out"
echo "== starting the service (Development settings: API key rpd-prj-dev-key; audit and keys in a temporary folder)"
src/IntegrationApi/$bin/IntegrationApi --environment Development \
  --Kestrel:Endpoints:Grpc:Url="http://127.0.0.1:$port" --Kestrel:Endpoints:Http:Url="http://127.0.0.1:$http_port" \
  --Kestrel:Endpoints:OpenAI:Url="http://127.0.0.1:$openai_port" \
  --Audit:SqlitePath="$work/audit.db" --Auth:KeyStorePath="$work/keys.db" \
  --Providers:OpenAI:BaseUrl="$(url OPENAI)" --Providers:Anthropic:BaseUrl="$(url ANTHROPIC)" \
  --Providers:Gemini:BaseUrl="$(url GEMINI)" --Providers:Cohere:BaseUrl="$(url COHERE)" \
  --Providers:Mistral:BaseUrl="$(url MISTRAL)" --Providers:Replicate:BaseUrl="$(url REPLICATE)" \
  --Logging:LogLevel:Default=Warning --Logging:LogLevel:Microsoft.Hosting.Lifetime=Information > "$work/service.out" 2>&1 &
service=$!
pids+=($service)
# Up when our own process says where it listens (the gRPC endpoint is listed first); if it exits first, show why.
address=""
for _ in $(seq 1 300); do
  address=$(sed -n 's/.*Now listening on: \(http[^ ]*\).*/\1/p' "$work/service.out" | head -n 1)
  [ -n "$address" ] && break
  kill -0 "$service" 2>/dev/null || { echo "the service did not start:" >&2; cat "$work/service.out" >&2; exit 1; }
  sleep 0.1
done
[ -n "$address" ] || { echo "the service did not start within 30 s:" >&2; cat "$work/service.out" >&2; exit 1; }
echo "   listening on $address"

cli() { tools/IntegrationApi.Cli/$bin/integration-cli --address "$address" --api-key rpd-prj-dev-key --key demo-key --wait 30 "$@"; }

echo
echo "== one stream, three concurrent requests to OpenAI (interleaved, told apart by clientRequestId)"
cli --provider openai --concurrent "What is a gRPC stream?" "Name three rivers." "Say hello in French."
echo
echo "== one stream, two requests to Anthropic, one after the other"
cli --provider anthropic "Tell me a short joke." "Now explain it."
echo
echo "== the same stream shape against Gemini, Cohere, Mistral and Replicate"
for p in gemini cohere mistral replicate; do cli --provider "$p" "Hello from the $p demo."; done
echo
echo "== a provider that rejects the credential: the request ends with a 401 terminal"
cli --provider openai --key wrong-key "This one fails." || true

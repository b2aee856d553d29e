#!/usr/bin/env bash
# The demo: starts loopback provider fakes, starts the service against them, and drives
# the CLI through multi-request streams. No API key and no network needed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
port="${DEMO_PORT:-19004}"
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

echo "== starting the service on 127.0.0.1:$port (Development settings: API key rpd-prj-dev-key)"
src/IntegrationApi/$bin/IntegrationApi --environment Development --contentRoot "$PWD/src/IntegrationApi" \
  --Kestrel:Endpoints:Grpc:Url="http://127.0.0.1:$port" --Kestrel:Endpoints:Http:Url="http://127.0.0.1:$((port + 1))" \
  --Kestrel:Endpoints:OpenAI:Url="http://127.0.0.1:$((port + 2))" \
  --Providers:OpenAI:BaseUrl="$(url OPENAI)" --Providers:Anthropic:BaseUrl="$(url ANTHROPIC)" \
  --Providers:Gemini:BaseUrl="$(url GEMINI)" --Providers:Cohere:BaseUrl="$(url COHERE)" \
  --Providers:Mistral:BaseUrl="$(url MISTRAL)" --Providers:Replicate:BaseUrl="$(url REPLICATE)" \
  --Logging:LogLevel:Default=Warning > "$work/service.out" 2>&1 &
pids+=($!)

cli() { tools/IntegrationApi.Cli/$bin/integration-cli --address "http://127.0.0.1:$port" --api-key rpd-prj-dev-key --key demo-key --wait 30 "$@"; }

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

#!/usr/bin/env bash
# Checks what of deploy/ can be checked without a container registry (this machine cannot pull base images):
#  1. the manifests parse, and hold what they must (k8s: probes, preStop, non-root, read-only root filesystem, h2c
#     Service, PodDisruptionBudget; compose: 3 instances, HAProxy, PostgreSQL, Redis, Prometheus);
#  2. compose/haproxy.cfg passes `haproxy -c`, compose/prometheus.yml passes `promtool check config` (when installed);
#  3. the image's contents, run as the image runs them: `dotnet publish` as deploy/Dockerfile does, the output made
#     read-only, started as an unprivileged user (nobody) from / with the Dockerfile's ENV (ports and the volume path
#     moved to free ports and a temporary folder), a private writable /tmp; then: the Dockerfile's HEALTHCHECK command,
#     gRPC health over h2c, /readiness, the data files on the "volume" only, `keys create` as the same user, SIGTERM → exit 0.
# Prints "N passed, N failed"; exits non-zero on a failure. Without root (no setpriv to another user) part 3 runs as
# the current user and says so.
#   bash deploy/check-container.sh        (~15 s, most of it the publish)
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
start=$(date +%s)
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "  PASS $*"; }
ko() { failed=$((failed + 1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else ko "$what"; fi; }
finish() { echo "container checks: $(( $(date +%s) - start ))s"; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== manifests"
if python3 - <<'PY'
import sys, yaml
def load(path): return [d for d in yaml.safe_load_all(open(path)) if d]
errors = []
def need(cond, what):
    if not cond: errors.append(what)

k8s = {}
for f in ["configmap.yaml", "secret.example.yaml", "deployment.yaml", "service.yaml", "pdb.yaml"]:
    for d in load(f"deploy/k8s/{f}"):
        k8s.setdefault(d["kind"], []).append(d)
dep = k8s["Deployment"][0]["spec"]
pod = dep["template"]["spec"]
c = pod["containers"][0]
need(pod["securityContext"].get("runAsNonRoot") is True, "Deployment: runAsNonRoot")
need(c["securityContext"].get("readOnlyRootFilesystem") is True, "Deployment: readOnlyRootFilesystem")
need(c["securityContext"].get("allowPrivilegeEscalation") is False, "Deployment: allowPrivilegeEscalation false")
need(c["readinessProbe"]["httpGet"]["path"] == "/readiness", "Deployment: readiness probe on /readiness")
need(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "Deployment: liveness probe on /healthz")
need("preStop" in c["lifecycle"], "Deployment: preStop")
need(pod["terminationGracePeriodSeconds"] >= 30, "Deployment: terminationGracePeriodSeconds covers the drain")
need({m["mountPath"] for m in c["volumeMounts"]} >= {"/tmp", "/var/lib/integration-api"}, "Deployment: writable /tmp and data mounts")
need(dep["selector"]["matchLabels"] == dep["template"]["metadata"]["labels"], "Deployment: selector matches the pod labels")
grpc = [p for s in k8s["Service"] for p in s["spec"]["ports"] if p["name"] == "grpc"]
need(grpc and grpc[0].get("appProtocol") == "kubernetes.io/h2c", "Service: gRPC port with appProtocol kubernetes.io/h2c")
need(k8s["PodDisruptionBudget"][0]["spec"]["selector"] == dep["selector"], "PodDisruptionBudget: selects the pods")
cm = k8s["ConfigMap"][0]["data"]
import json
for name in json.load(open("src/IntegrationApi/appsettings.json"))["Kestrel"]["Endpoints"]:
    need(cm.get(f"Kestrel__Endpoints__{name}__Url", "").startswith("http://0.0.0.0:"), f"ConfigMap: Kestrel__Endpoints__{name}__Url on all interfaces")
need(cm["Audit__SqlitePath"].startswith("/var/lib/integration-api/") and cm["Auth__KeyStorePath"].startswith("/var/lib/integration-api/"), "ConfigMap: data paths on the data volume")

sts = load("deploy/k8s/statefulset/statefulset.yaml")[0]
need(sts["kind"] == "StatefulSet", "statefulset.yaml: a StatefulSet")
sts_env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
need("pod-index" in str(sts_env.get("Engine__MachineId", {}).get("valueFrom", "")), "StatefulSet: Engine__MachineId from the pod index")
def without(pod, *names):
    c = dict(pod["containers"][0]); c["env"] = [e for e in c["env"] if e["name"] not in names]
    return {**pod, "containers": [c]}
need(without(sts["spec"]["template"]["spec"], "Engine__MachineId") == without(pod, "Engine__MachineId"), "StatefulSet: the same pod as the Deployment")
need(sts["spec"]["selector"] == dep["selector"], "StatefulSet: the Deployment's selector (Service, PDB)")

compose = load("deploy/compose/compose.yaml")[0]["services"]
gateways = [n for n in compose if n.startswith("gateway-")]
need(len(gateways) == 3, "compose: 3 instances")
need({"haproxy", "postgres", "redis", "prometheus"} <= set(compose), "compose: haproxy, postgres, redis, prometheus")
ids = {compose[g]["environment"].get("Engine__MachineId") for g in gateways}
need(len(ids) == 3 and None not in ids, "compose: a distinct Engine__MachineId per instance")
need(all(compose[g].get("read_only") is True for g in gateways), "compose: read-only root filesystem")
for e in errors: print("   " + e)
sys.exit(1 if errors else 0)
PY
then ok "k8s and compose manifests: parse and hold probes, preStop, non-root, read-only, h2c, PDB, 3 instances"; else ko "k8s and compose manifests"; fi

cfg=deploy/compose/haproxy.cfg
check "haproxy.cfg: proto h2 to the backends, leastconn, health checks" \
  bash -c "grep -q 'balance leastconn' $cfg && grep -q 'proto h2' $cfg && grep -q 'option httpchk' $cfg"
if command -v haproxy >/dev/null 2>&1; then
  check "haproxy -c -f $cfg" bash -c "haproxy -c -f $cfg >/dev/null 2>&1"
else echo "  (haproxy not installed: haproxy -c skipped)"; fi
if command -v promtool >/dev/null 2>&1; then
  sed "s|/etc/prometheus/integration-api-alerts.yml|$PWD/deploy/prometheus/alerts.yml|" deploy/compose/prometheus.yml > "$work/prometheus.yml"
  check "promtool check config compose/prometheus.yml (with the alert rules)" bash -c "promtool check config '$work/prometheus.yml' >/dev/null 2>&1"
else echo "  (promtool not installed: promtool check config skipped)"; fi

echo "== the image's contents, as the image runs them"
app="$work/app"
# As deploy/Dockerfile's build stage does.
if ! dotnet publish src/IntegrationApi/IntegrationApi.csproj -c Release -o "$app" -p:UseAppHost=false -nologo -v q >/dev/null; then
  ko "dotnet publish"; finish
fi
ok "dotnet publish (as the Dockerfile)"

read -r grpc_port http_port openai_port <<<"$(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')"
data="$work/var-lib-integration-api"; tmp="$work/tmp"
mkdir -p "$data" "$tmp"
# The Dockerfile's ENV, with its volume path and ports moved here.
python3 - "$data" "$grpc_port" "$http_port" "$openai_port" > "$work/env" <<'PY'
import re, shlex, sys
data, grpc, http, openai = sys.argv[1:]
text = open("deploy/Dockerfile").read().replace("\\\n", " ")
env = {}
for line in text.splitlines():
    if line.startswith("ENV "):
        for pair in shlex.split(line[4:]):
            k, _, v = pair.partition("=")
            env[k] = v
assert env.get("Kestrel__Endpoints__Grpc__Url", "").endswith(":9004"), env
# Every endpoint the shipped appsettings.json declares is set, so none binds its fixed development port here.
import json
for name in json.load(open("src/IntegrationApi/appsettings.json"))["Kestrel"]["Endpoints"]:
    assert f"Kestrel__Endpoints__{name}__Url" in env, f"the Dockerfile does not set Kestrel__Endpoints__{name}__Url"
for k, v in env.items():
    v = v.replace("/var/lib/integration-api", data).replace("0.0.0.0:9004", f"127.0.0.1:{grpc}").replace("0.0.0.0:9005", f"127.0.0.1:{http}").replace("0.0.0.0:9006", f"127.0.0.1:{openai}")
    print(f"{k}={v}")
PY
[ -s "$work/env" ] && ok "the Dockerfile's ENV read" || { ko "the Dockerfile's ENV read"; finish; }

chmod -R a-w "$app"; chmod 755 "$work"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
  chown nobody "$data" "$tmp"; chmod 700 "$data" "$tmp"
  as_user=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups)
  who="nobody"
else
  as_user=(); who="$(id -un) (not root: cannot switch user)"
fi
secret="container-check-secret-0123456789abcdefghijklmnop"
# The service's command line: a clean environment (the Dockerfile's ENV, a secret), the unprivileged user, from /.
mapfile -t image_env < "$work/env"
service_cmd=(env -i PATH="$PATH" HOME=/nonexistent TMPDIR="$tmp" DOTNET_CLI_TELEMETRY_OPTOUT=1 "${image_env[@]}"
  Auth__JwtSecret="$secret" "${as_user[@]}" dotnet "$app/IntegrationApi.dll")
run() { (cd / && exec "${service_cmd[@]}" "$@"); }
touch "$work/marker"

echo "   running as $who from /, $app read-only"
(cd / && exec "${service_cmd[@]}") > "$work/service.out" 2>&1 &
service=$!   # the service itself (exec): SIGTERM reaches it; pids+=($service)
up=0
for _ in $(seq 1 600); do
  grep -q "Now listening on: http://127.0.0.1:$http_port" "$work/service.out" 2>/dev/null && { up=1; break; }
  kill -0 "$service" 2>/dev/null || break
  sleep 0.1
done
if [ "$up" -eq 1 ]; then ok "started as $who from a read-only folder"; else ko "started as $who (output below)"; cat "$work/service.out"; finish; fi

check "HEALTHCHECK command (dotnet IntegrationApi.dll health)" run health
# gRPC health over h2c: an empty HealthCheckRequest; the answer is status SERVING (field 1 = 1) and grpc-status 0.
printf '\x00\x00\x00\x00\x00' > "$work/health-request"
curl -s --http2-prior-knowledge -X POST -H 'content-type: application/grpc' -H 'te: trailers' \
  --data-binary @"$work/health-request" -D "$work/health-headers" -o "$work/health-body" \
  "http://127.0.0.1:$grpc_port/grpc.health.v1.Health/Check"
check "gRPC health over h2c: SERVING" bash -c "grep -qi '^grpc-status: 0' '$work/health-headers' && [ \"\$(od -An -tx1 '$work/health-body' | tr -d ' \n')\" = 00000000020801 ]"
check "/readiness: Healthy" bash -c "[ \"\$(curl -s http://127.0.0.1:$http_port/readiness)\" = Healthy ]"
check "audit and key stores on the data volume" test -f "$data/audit.db" -a -f "$data/keys.db"
check "nothing written to the application folder" bash -c "[ -z \"\$(find '$app' -newer '$work/marker' -print -quit)\" ]"
if run keys create --org 1 --project 1 --name container-check > "$work/keys.out" 2>&1 && grep -q '^rpd-prj-' "$work/keys.out"; then
  ok "keys create as $who, into the data volume's store"
else ko "keys create as $who"; cat "$work/keys.out"; fi

kill -TERM "$service"
code=0
for _ in $(seq 1 400); do kill -0 "$service" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$service" 2>/dev/null; then ko "SIGTERM: still running after 40 s"; else wait "$service"; code=$?; check "SIGTERM: drained and exited 0" test "$code" -eq 0; fi
grep -qi "exception" "$work/service.out" && { echo "   (the service logged an exception:)"; grep -i -m 5 "exception" "$work/service.out"; }
finish

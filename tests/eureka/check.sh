#!/usr/bin/env bash
# Real Eureka clients (py_eureka_client from PyPI, eureka-js-client from npm, both pinned)
# against a 3-node cluster of the registry binary: see check.py for the flow. Run by .ci/run;
# by hand: cargo build -p registry --bin registry && tests/eureka/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/eureka
binary=${REGISTRY_BINARY:-target/debug/registry}
started=$(date +%s)

work="$(mktemp -d)"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q 'py_eureka_client==0.13.3'
# eureka-js-client 4.5.0 and its dependencies exactly as package-lock.json pins them.
(cd "$here" && npm ci --silent --no-audit --no-fund)

cat > "$work/fast.toml" <<'TOML'
poll_hold_ms = 2000
[cluster]
sync_timeout_ms = 1000
sync_retry_ms = 200
anti_entropy_interval_ms = 1000
TOML
peers=127.0.0.1:17181,127.0.0.1:17182,127.0.0.1:17183
pids=()
stop_cluster() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_cluster EXIT
for i in 1 2 3; do
  "$binary" --listen "127.0.0.1:1718$i" --peers "$peers" --hostname "n$i" \
    --zone z1 --env dev --config "$work/fast.toml" >"$work/n$i.log" 2>&1 &
  pids+=("$!")
done
for i in 1 2 3; do
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:1718$i/health" | grep -q '"ready":true'; then break; fi
    sleep 0.1
  done
done
if ! "$work/venv/bin/python" "$here/check.py" 127.0.0.1:17181 127.0.0.1:17182 127.0.0.1:17183 "$here"; then
  tail -n 20 "$work"/n*.log >&2
  exit 1
fi
echo "eureka check: the whole step took $(( $(date +%s) - started )) s"

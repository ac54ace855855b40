#!/usr/bin/env bash
# The status page in a real browser: starts a 3-node cluster of the debug binary, registers
# instances (one app named with an injected <script>), turns protection on with the operator
# override, loads the page in headless Chromium, takes a screenshot, and checks from the
# rendered DOM that the three nodes, the apps, the protection state and its SVG timeline are
# there and that the injected script did not run (its text is on the page, escaped).
#
# Usage: tests/status/check_status_page.sh [screenshot.png]
# Needs target/debug/registry (cargo build -p registry --bin registry), curl and chromium.
# The rendered DOM is kept next to the screenshot (status-dom.html) for a failing check.
set -euo pipefail
cd "$(dirname "$0")/../.."

shot="$(realpath -m "${1:-target/status-page/status.png}")"
mkdir -p "$(dirname "$shot")"
dom_file="$(dirname "$shot")/status-dom.html"
fail() { echo "check_status_page: $*" >&2; exit 1; }
bin=target/debug/registry
[ -x "$bin" ] || fail "no $bin (cargo build -p registry --bin registry)"
command -v chromium >/dev/null 2>&1 || fail "chromium is not installed (apt-get install -y chromium)"
command -v curl >/dev/null 2>&1 || fail "curl is not installed"

work="$(mktemp -d)"
# Renew windows of 2 s so the protection timeline has bars within seconds.
cat > "$work/fast.toml" <<'TOML'
poll_hold_ms = 2000
[protection]
renew_window_ms = 2000
[cluster]
sync_timeout_ms = 1000
sync_retry_ms = 200
anti_entropy_interval_ms = 1000
TOML
base=27170
peers="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
token="status-page-check-admin-token-0123456789abcdef"
pids=()
stop_cluster() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_cluster EXIT
for i in 1 2 3; do
  REGISTRY_ADMIN_TOKEN="$token" "$bin" --listen "127.0.0.1:$((base + i))" --peers "$peers" \
    --hostname "n$i" --zone z1 --env dev --config "$work/fast.toml" >"$work/n$i.log" 2>&1 &
  pids+=("$!")
done
for i in 1 2 3; do
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$((base + i))/health" | grep -q '"ready":true'; then break; fi
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$((base + i))/health" | grep -q '"ready":true' \
    || { tail -n 20 "$work/n$i.log" >&2; fail "node $i did not become ready"; }
done

node="http://127.0.0.1:$((base + 1))"
registered=0
register() { # appid hostname zone status [metadata]
  local out
  registered=$((registered + 1))
  out="$(curl -sf -X POST "$node/discovery/register" \
    --data-urlencode zone="$3" --data-urlencode env=dev --data-urlencode appid="$1" \
    --data-urlencode hostname="$2" --data-urlencode addrs="grpc://10.0.0.$registered:9000" \
    --data-urlencode status="$4" --data-urlencode metadata="${5:-{\}}")"
  grep -q '"code":0' <<<"$out" || fail "register $1/$2 answered $out"
}
register demo.payments pay-1 z1 1 '{"weight":"10"}'
register demo.payments pay-2 z1 2
register demo.search search-1 z1 1
# The injected script would mark the document if it ran.
evil='<script>document.documentElement.setAttribute("data-pwned","1")</script>'
register "$evil" "<img src=x onerror=document.documentElement.setAttribute('data-pwned','2')>" z1 1 \
  "{\"note\":\"$(sed 's/"/\\"/g' <<<"$evil")\"}"

out="$(curl -sf -X POST "$node/admin/protection" -H "Authorization: Bearer $token" -d mode=on)"
grep -q '"force_on"' <<<"$out" || fail "the protection override answered $out"
# A few 2-second windows close, and the registrations reach the other nodes.
sleep 5

profile="$work/chromium-profile"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile" --virtual-time-budget=3000)
dom="$(chromium "${flags[@]}" --dump-dom "$node/" 2>/dev/null)" || fail "chromium could not load $node/"
printf '%s\n' "$dom" >"$dom_file"
chromium "${flags[@]}" --window-size=1280,1500 --screenshot="$shot" "$node/?refresh=off" \
  >/dev/null 2>&1 || fail "chromium could not take a screenshot of $node/"
# And as a phone shows it (390 px wide), to look at: tables scroll sideways on their own.
phone="${shot%.png}-phone.png"
chromium "${flags[@]}" --window-size=390,1800 --screenshot="$phone" "$node/?refresh=off" \
  >/dev/null 2>&1 || fail "chromium could not take a phone-sized screenshot of $node/"
[ -s "$shot" ] && [ -s "$phone" ] || fail "empty screenshot $shot or $phone"

count_of() { { grep -o "$1" || true; } | wc -l; }
expect() { # description pattern
  grep -q -- "$2" <<<"$dom" || fail "$1: no match for $2 in $dom_file"
  echo "check_status_page: ok: $1"
}

nodes="$(count_of '<tr class="node ' <<<"$dom")"
[ "$nodes" -eq 3 ] || fail "expected 3 node rows in the cluster table, found $nodes"
echo "check_status_page: ok: 3 node rows"
for i in 1 2 3; do
  expect "node $i listed" "data-addr=\"127.0.0.1:$((base + i))\""
done
answered="$(count_of '<td class="ok">yes</td>' <<<"$dom")"  # the peers' "Answered" cells
[ "$answered" -ge 2 ] || fail "expected both peers to have answered, found $answered"
echo "check_status_page: ok: both peers answered"
expect "app demo.payments" 'class="appid">demo.payments<'
expect "app demo.search" 'class="appid">demo.search<'
expect "counts per status" '1 up, 1 waiting'
expect "protection on" 'id="protection-state" class="badge on" data-protected="true"'
expect "the override" 'id="protection-override">force_on<'
expect "the protection timeline" '<svg id="protection-timeline"'
bars="$(tr -d '\n' <<<"$dom" | { grep -o '<svg id="protection-timeline".*</svg>' || true; } | sed 's#</svg>.*##' | { grep -o '<rect class="renews"' || true; } | wc -l)"
[ "$bars" -ge 1 ] || fail "the protection timeline has no window bars"
echo "check_status_page: ok: $bars window bars in the timeline"
expect "the injected appid shown as text" '&lt;script&gt;document.documentElement.setAttribute'
expect "the injected hostname shown as text" '&lt;img src=x onerror='
# Had either run, an element would carry the attribute (data-pwned="1" or "2"); as text, the
# injected code's quotes are not followed by "=".
if grep -q 'data-pwned="' <<<"$dom"; then fail "the injected script ran (see $dom_file)"; fi
echo "check_status_page: ok: the injected script did not run"
expect "the page's own script ran (the Content-Security-Policy allows it)" '<body[^>]*data-script="ran"'
policy="$(curl -sfI "$node/" | tr -d '\r' | { grep -i '^content-security-policy:' || true; })"
grep -q "script-src 'sha256-" <<<"$policy" || fail "no Content-Security-Policy on the page: $policy"
echo "check_status_page: ok: served with $policy"
echo "check_status_page: all checks passed; screenshots $shot $phone"

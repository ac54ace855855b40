#!/usr/bin/env bash
# Renders a `sim run` report.html in headless Chromium and checks that its plots rendered:
# three <svg> plots (convergence dots, protection timeline, registry sizes), each with its
# marks (<circle>, <rect>, <polyline>). Also takes a screenshot next to the page.
#
# Usage: tests/report/check_report_html.sh [reports/latest/report.html]
set -euo pipefail

page="$(realpath "${1:-reports/latest/report.html}")"
shot="$(dirname "$page")/report.png"
fail() { echo "check_report_html: $*" >&2; exit 1; }

[ -f "$page" ] || fail "no report at $page (run: cargo run --profile sim -p sim-harness --bin sim -- run)"
if grep -qiE '<script|https?://[^"]*\.(js|css)|<link ' "$page"; then
  fail "$page must be self-contained (no script, no fetched stylesheet)"
fi
command -v chromium >/dev/null 2>&1 || fail "chromium is not installed (apt-get install -y chromium)"

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile")

dom="$(chromium "${flags[@]}" --dump-dom "file://$page" 2>/dev/null)" \
  || fail "chromium could not load $page"
chromium "${flags[@]}" --window-size=1000,1700 --screenshot="$shot" "file://$page" \
  >/dev/null 2>&1 || fail "chromium could not take a screenshot of $page"
[ -s "$shot" ] || fail "empty screenshot $shot"

# grep finds nothing with status 1: count with `|| true` so that set -e does not exit quietly.
count_of() { { grep -o "$1" || true; } | wc -l; }

svgs="$(count_of '<svg' <<<"$dom")"
[ "$svgs" -ge 3 ] || fail "expected 3 <svg> plots in the rendered DOM, found $svgs"
for plot in convergence:circle protection:rect registry-size:polyline; do
  id="${plot%%:*}" mark="${plot##*:}"
  # The plot's own markup: from its <svg id=...> to the next </svg>.
  body="$(tr -d '\n' <<<"$dom" | { grep -o "<svg[^>]*id=\"$id\".*" || true; } | sed 's#</svg>.*##')"
  [ -n "$body" ] || fail "plot #$id missing from the rendered DOM"
  count="$(count_of "<$mark" <<<"$body")"
  [ "$count" -ge 1 ] || fail "plot #$id has no <$mark> marks"
  echo "check_report_html: #$id: $count <$mark>"
done
echo "check_report_html: $svgs plots rendered; screenshot $shot"

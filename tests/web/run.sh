#!/usr/bin/env bash
# Browser test of the finance page: starts `supportbill serve --demo` on a fresh SQLite file,
# issues one invoice through the JSON API, and runs finance_page.mjs in Debian's headless
# Chromium (playwright-core from tests/web/package-lock.json; no browser download).
#
#   tests/web/run.sh target/debug/supportbill
#
# Builds nothing. Needs curl, jq, node/npm and /usr/bin/chromium. Screenshots: /tmp/sb-web/.
set -euo pipefail

bin=${1:?usage: tests/web/run.sh PATH/TO/supportbill}
[[ -x "$bin" ]] || { echo "not an executable: $bin" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
here=$(cd "$(dirname "$0")" && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
[[ -x "$chromium" ]] || { echo "Chromium not found at $chromium (apt-get install chromium)" >&2; exit 2; }
for tool in curl jq node npm; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" --database-url "sqlite://$work/web.db" serve --demo --bind 127.0.0.1:0 \
    >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

addr=""
for _ in $(seq 1 150); do
    addr=$(sed -n 's|^supportbill listening on http://\([^ ]*\).*|\1|p' "$work/stdout")
    [[ -n "$addr" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/stdout" "$work/stderr" >&2; echo "the server exited" >&2; exit 1; }
    sleep 0.2
done
[[ -n "$addr" ]] || { cat "$work/stdout" "$work/stderr" >&2; echo "the server did not report its address" >&2; exit 1; }
key=$(sed -n 's|^admin API key: \(.*\)$|\1|p' "$work/stdout")
[[ -n "$key" ]] || { echo "no admin API key on stdout" >&2; exit 1; }
base="http://$addr"
echo "server at $base"

api() { # METHOD PATH [JSON]: prints the body, fails on any status >= 400
    local method=$1 path=$2 body=${3:-}
    local args=(-sS --fail-with-body -X "$method" -H "Authorization: Bearer $key")
    [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data "$body")
    curl "${args[@]}" "$base$path"
}

# An issued invoice for the page to show: run the previous calendar month, issue the first draft.
this_month=$(date -u +%Y-%m-01)
prev_month=$(date -u -d "$this_month -1 month" +%Y-%m-01)
drafts=$(api POST /api/v1/invoices/run "{\"period_start\": \"$prev_month\", \"period_end\": \"$this_month\"}")
id=$(jq -r '.data[0].id // empty' <<<"$drafts")
[[ -n "$id" ]] || { echo "the invoice run for $prev_month made no drafts: $drafts" >&2; exit 1; }
issued=$(api POST "/api/v1/invoices/$id/issue")
customer=$(jq -r '.customer_id' <<<"$issued")
echo "issued invoice $id: $(jq -r '.number' <<<"$issued") (customer $customer)"

# A client key of that customer, to check what clients see.
client_key=$(api POST /api/v1/api-keys "{\"name\": \"web test client\", \"role\": \"client\", \"customer_id\": $customer}" | jq -r '.token')

if [[ ! -d "$here/node_modules/playwright-core" ]]; then
    npm ci --prefix "$here" --no-audit --no-fund
fi

status=0
BASE_URL="$base" KEY="$key" CLIENT_KEY="$client_key" CHROMIUM="$chromium" node "$here/finance_page.mjs" || status=$?
if ((status != 0)); then
    echo "--- server stderr (last 40 lines) ---"
    tail -n 40 "$work/stderr"
fi
exit "$status"

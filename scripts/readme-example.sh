#!/usr/bin/env bash
# Runs the README's worked example against a fresh `s3flow local` and prints every command
# with its real output, so the README can be refreshed from it:
#   bash scripts/readme-example.sh [path/to/s3flow]
set -euo pipefail
S3FLOW=$(realpath "${1:-target/debug/s3flow}")
DATA=$(mktemp -d)
WORK=$(mktemp -d)
trap 'kill "$LOCAL_PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA" "$WORK"' EXIT

"$S3FLOW" local --data "$DATA" --listen 127.0.0.1:19000 >"$WORK/local.json" 2>"$WORK/local.err" &
LOCAL_PID=$!
for _ in $(seq 50); do [[ -s "$WORK/local.json" ]] && break; sleep 0.1; done
read -r ENDPOINT KEY SECRET REGION < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["endpoint"], d["access_key_id"], d["secret_access_key"], d["region"])' "$WORK/local.json")
export S3FLOW_ENDPOINT=$ENDPOINT S3FLOW_ACCESS_KEY_ID=$KEY S3FLOW_SECRET_ACCESS_KEY=$SECRET S3FLOW_REGION=$REGION
cd "$WORK"
printf 'Invoice INV-7\nTotal: 42.00 EUR\n' > invoice.txt

run() {
  printf '$ %s\n' "$*"
  # Hide the local endpoint's random secret should any output ever carry it.
  set +e
  "$@" 2>&1 | sed "s/$SECRET/<secret>/g"
  local rc=${PIPESTATUS[0]}
  set -e
  [[ $rc == 0 ]] || printf '(exit %s)\n' "$rc"
  echo
}
s3flow() { "$S3FLOW" "$@"; }

run s3flow bucket create s3://invoices
run s3flow upload invoice.txt 's3://invoices/{yyyy}/{invoice_id}.txt' --var invoice_id=INV-7 --metadata customer=acme
run s3flow upload --json '{"id":7,"paid":false}' s3://invoices/meta/INV-7.json
run s3flow upload --text 'second version' s3://invoices/meta/INV-7.json --if-exists backup --backup-prefix backup/
run s3flow upload --text 'x' s3://invoices/meta/INV-7.json --if-exists fail
run s3flow download s3://invoices/meta/INV-7.json
run s3flow download "s3://invoices/$(date -u +%Y)/INV-7.txt" copy.txt
run s3flow list s3://invoices/
run s3flow list s3://invoices/ --no-recursive --output table
run s3flow folders s3://invoices/
run s3flow head "s3://invoices/$(date -u +%Y)/INV-7.txt"
run s3flow copy s3://invoices/meta/INV-7.json s3://invoices/archive/INV-7.json
run s3flow move s3://invoices/archive/INV-7.json s3://invoices/archive/2026/INV-7.json
run s3flow presign s3://invoices/meta/INV-7.json --expires 15m
run s3flow presign s3://invoices/uploads/scan.pdf --method PUT --content-type application/pdf
run s3flow delete s3://invoices/archive/2026/INV-7.json
run s3flow delete-objects s3://invoices --key backup/a --key backup/b
run s3flow delete s3://invoices/backup/ --recursive --dry-run
run s3flow delete s3://invoices/backup/ --recursive
run s3flow bucket location s3://invoices
run s3flow bucket list
run s3flow bucket versioning s3://invoices --enable
run s3flow api GET /invoices --query list-type=2 --query prefix=meta/
run s3flow run list_folders --input '{"bucket":"invoices"}'
run s3flow download s3://invoices/nope.txt
run s3flow --restrict-prefix tenant-a/ download s3://invoices/meta/INV-7.json
run s3flow upload --text hi 's3://invoices/{nope}.txt'

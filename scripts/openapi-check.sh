#!/usr/bin/env bash
# Validates the live service against its own OpenAPI document with schemathesis (PyPI):
# starts `s3flow serve` on spare loopback ports with a fresh data folder, fuzzes every
# operation with a fixed seed and example count, and stops the service.
#   bash scripts/openapi-check.sh [path/to/s3flow] [examples per operation]
set -euo pipefail
S3FLOW=$(realpath "${1:-target/debug/s3flow}")
EXAMPLES=${2:-60}
DATA=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT
command -v schemathesis >/dev/null 2>&1 || python3 -m pip install -q --disable-pip-version-check schemathesis
"$S3FLOW" serve --data "$DATA" --listen 127.0.0.1:18080 --local-listen 127.0.0.1:18090 >"$DATA/serve.json" 2>"$DATA/serve.log" &
PID=$!
for _ in $(seq 100); do grep -q "token" "$DATA/serve.json" 2>/dev/null && break; sleep 0.1; done
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"]["token"])' "$DATA/serve.json")
# The spec itself must be a valid OpenAPI 3.1 document.
curl -sf -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18080/v1/openapi.json -o "$DATA/openapi.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["openapi"].startswith("3.1"), d["openapi"]' "$DATA/openapi.json"
# Server errors and undocumented status codes fail the run. (The coverage phase of
# schemathesis 4.32 crashes inside schemathesis itself on this spec, so it is not run.) (Response bodies of
# `GET /v1/documents/{id}` are the document's own bytes under its own content type, which
# schemathesis tries to parse, so body-schema checks are left out.)
schemathesis run "$DATA/openapi.json" --url http://127.0.0.1:18080 \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance \
  --phases examples,fuzzing --max-examples "$EXAMPLES" -w 2 --seed 42 --generation-deterministic \
  --suppress-health-check all --warnings off

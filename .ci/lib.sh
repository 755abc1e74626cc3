# Shared by the CI scripts: a development server (demo data) on a fresh
# SQLite database in a temp folder, on a free port. Sets $base, $data, $server.
start_server() {
  cargo build --quiet --bin servicelane
  data=$(mktemp -d)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  SERVICELANE__PROFILE=development \
  SERVICELANE__DATA_DIR="$data" \
  SERVICELANE__SERVER__HOST=127.0.0.1 \
  SERVICELANE__SERVER__PORT="$port" \
  SERVICELANE__AUTH__ACCESS_TTL_SECS=3600 \
  SERVICELANE__LOG__FILTER=error \
    target/debug/servicelane serve >"$data/server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 60); do
    curl -fs "$base/health/ready" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "the server did not become ready" >&2
  tail -n 40 "$data/server.log" >&2
  return 1
}

# A virtualenv under target/ with one pinned package: venv NAME==VERSION
venv() {
  local dir="target/venv-${1//=/-}"
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/pip" show -q "${1%%==*}" >/dev/null 2>&1; then
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet "$1"
  fi
  echo "$dir"
}

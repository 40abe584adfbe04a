#!/usr/bin/env bash
# A real Redis (redis-server from Debian 12 packages) for the shared-token tests, with an ACL
# user allowed only the token keys and the commands the store protocol sends.
#
#   interop/redis/server.sh install            apt-get redis-server if missing
#   interop/redis/server.sh start DIR [PORT]   start on a free loopback port (or PORT), nothing
#                                              persisted; prints redis://seekpass:…@127.0.0.1:PORT/0
#   interop/redis/server.sh stop DIR           stop it (the PID is in DIR/redis.pid)
#
# With TLS_CERT, TLS_KEY and TLS_CA set (PEM files), it listens with TLS only and prints
# rediss://…; clients are not asked for certificates.
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
# The ACL user the replicas use: the key prefix and the protocol's commands, nothing else.
user=seekpass
password=seekpass-interop-not-a-secret

install() {
  command -v redis-server >/dev/null && return
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends redis-server >/dev/null
}

start() {
  [ -n "$dir" ] || { echo "usage: $0 start DIR [PORT]" >&2; exit 64; }
  mkdir -p "$dir"
  local port="${3:-}"
  if [ -z "$port" ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  fi
  cat >"$dir/users.acl" <<ACL
user default off
user $user on >$password ~seekpass-oauth:* resetchannels -@all +get +pttl +set +del +eval +multi +exec +ping +hello +select +discard
ACL
  local listen=(--port "$port") cli=() scheme=redis
  if [ -n "${TLS_CERT:-}" ]; then
    listen=(--port 0 --tls-port "$port" --tls-cert-file "$TLS_CERT" --tls-key-file "$TLS_KEY"
            --tls-ca-cert-file "$TLS_CA" --tls-auth-clients no)
    cli=(--tls --cacert "$TLS_CA")
    scheme=rediss
  fi
  redis-server "${listen[@]}" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --aclfile "$dir/users.acl" --daemonize yes --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis-$port.log" >/dev/null
  for _ in $(seq 1 100); do
    if redis-cli "${cli[@]}" -h 127.0.0.1 -p "$port" --user "$user" --pass "$password" --no-auth-warning ping 2>/dev/null | grep -q PONG; then
      echo "$scheme://$user:$password@127.0.0.1:$port/0"
      return
    fi
    sleep 0.05
  done
  echo "redis-server did not start on port $port; see $dir/redis-$port.log" >&2
  exit 1
}

stop() {
  [ -n "$dir" ] || { echo "usage: $0 stop DIR" >&2; exit 64; }
  [ -f "$dir/redis.pid" ] || return 0
  local pid
  pid="$(cat "$dir/redis.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  rm -f "$dir/redis.pid"
}

case "$cmd" in
  install) install ;;
  start) start "$@" ;;
  stop) stop ;;
  *) echo "usage: $0 install | start DIR [PORT] | stop DIR" >&2; exit 64 ;;
esac

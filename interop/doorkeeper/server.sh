#!/usr/bin/env bash
# A real Doorkeeper (Rails + the doorkeeper gem, from Debian 12 packages), configured like the
# SEEK Pass token endpoint, for the interop tests.
#
#   interop/doorkeeper/server.sh install          apt-get the packages if missing
#   interop/doorkeeper/server.sh build DIR        create the app in DIR (offline, ~2 s)
#   interop/doorkeeper/server.sh start DIR [LIFETIME [ISSUING]]
#        start on a free loopback port with a fresh copy of the database and tokens of LIFETIME
#        seconds (default 7200); prints the base URL; the PID is in DIR/server.pid. ISSUING is
#        plain (default), reuse (Doorkeeper's reuse_access_token: a request gets the client's
#        unexpired token) or revoke (revoke_previous_client_credentials_token: a new token
#        revokes the previous one)
#   interop/doorkeeper/server.sh stop DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cmd="${1:-}"
dir="${2:-}"
export SECRET_KEY_BASE=seekpass-oauth-interop-not-a-secret
export RAILS_ENV=production RAILS_LOG_TO_STDOUT=

install() {
  if command -v rails >/dev/null && ruby -e 'require "rails"; require "doorkeeper"; require "sqlite3"; require "puma"' 2>/dev/null; then
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q ruby-rails ruby-doorkeeper ruby-sqlite3 puma >/dev/null
}

build() {
  [ -n "$dir" ] || { echo "usage: $0 build DIR" >&2; exit 64; }
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  rails new "$dir" --api --minimal --database=sqlite3 --skip-bundle --skip-git \
    --skip-javascript --skip-bootsnap --skip-test --skip-listen >/dev/null
  cp "$here/app/Gemfile" "$dir/Gemfile"
  cp "$here/app/doorkeeper.rb" "$dir/config/initializers/doorkeeper.rb"
  cp "$here/app/routes.rb" "$dir/config/routes.rb"
  cp "$here/app/sqlite.rb" "$dir/config/initializers/sqlite.rb"
  cp "$here/app/seeds.rb" "$dir/db/seeds.rb"
  cd "$dir"
  bundle install --local --quiet >/dev/null
  bin/rails generate doorkeeper:migration >/dev/null
  # This grant has no redirect URI.
  sed -i 's/t.text    :redirect_uri, null: false/t.text    :redirect_uri/' db/migrate/*_create_doorkeeper_tables.rb
  DATABASE_URL="sqlite3:$dir/db/template.sqlite3" bin/rails db:migrate db:seed >/dev/null
}

start() {
  [ -n "$dir" ] || { echo "usage: $0 start DIR [LIFETIME [ISSUING]]" >&2; exit 64; }
  local lifetime="${3:-7200}"
  local issuing="${4:-plain}"
  case "$issuing" in plain|reuse|revoke) ;; *) echo "ISSUING $issuing: plain, reuse or revoke" >&2; exit 64 ;; esac
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local db
  db="$(mktemp "$dir/tmp/run-XXXXXX.sqlite3")"
  cp "$dir/db/template.sqlite3" "$db"
  cd "$dir"
  TOKEN_LIFETIME="$lifetime" ISSUING="$issuing" DATABASE_URL="sqlite3:$db" \
    setsid bin/rails server -b 127.0.0.1 -p "$port" -P "$dir/tmp/server-$port.pid" >"$dir/log/server-$port.log" 2>&1 &
  echo $! >"$dir/server.pid"
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$port/up" >/dev/null 2>&1; then
      echo "http://127.0.0.1:$port"
      return
    fi
    sleep 0.1
  done
  echo "doorkeeper did not start; log:" >&2
  cat "$dir/log/server-$port.log" >&2
  exit 1
}

stop() {
  [ -f "$dir/server.pid" ] || return 0
  kill -- -"$(cat "$dir/server.pid")" 2>/dev/null || kill "$(cat "$dir/server.pid")" 2>/dev/null || true
  rm -f "$dir/server.pid"
}

case "$cmd" in
  install) install ;;
  build) build ;;
  start) start "$@" ;;
  stop) stop ;;
  *) sed -n '2,16p' "$0" >&2; exit 64 ;;
esac

#!/usr/bin/env bash
# Sends REQUESTS token requests to a Doorkeeper from server.sh, CONCURRENCY at a time, spread
# over the seeded applications pool-1 to pool-200, and prints how many got each status (the
# doorkeeper_pool test changes pool-7's secret, so on a server it ran against, pool-7 gets 401).
#
# usage: interop/doorkeeper/burst.sh URL [REQUESTS [CONCURRENCY]]   (defaults 1000 and 100)
set -euo pipefail
url="${1:?usage: $0 URL [REQUESTS [CONCURRENCY]]}"
requests="${2:-1000}"
concurrency="${3:-100}"
# A refused or timed-out request counts as 000.
seq 1 "$requests" | xargs -n 1 -P "$concurrency" bash -c '
  n=$(( ($1 % 200) + 1 ))
  curl -s -o /dev/null --max-time 60 -w "%{http_code}\n" \
    -d "grant_type=client_credentials&client_id=pool-$n&client_secret=pool-secret-$n&scope=write.education" \
    "$0/api/partner/v1/oauth/token.json" || true' "$url" | sort | uniq -c

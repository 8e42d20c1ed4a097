#!/usr/bin/env bash
# Runs the whole test suite. On a fresh machine it first sets up what the tests need:
# PostgreSQL and Redis started when they are down, Debian's chromium and haproxy installed when missing,
# and the project built (the CLI tests run the compiled program). After the suite, on this
# machine's Node.js, scripts/runtime-check.sh checks the built CLI and SQLite storage under
# Node.js 22 and 24. Arguments are passed to vitest and run only those tests (no runtime check);
# --runtimes-only runs the runtime check alone.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=1
runtimes=1
if [ "${1:-}" = "--runtimes-only" ]; then
  suite=0
  shift
elif [ $# -gt 0 ]; then
  runtimes=0
fi

log() { printf '\n[test setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  log "PostgreSQL is not answering on 127.0.0.1:5432: starting it"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "Redis is not answering on 127.0.0.1:6379: starting it"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi

if [ ! -x /usr/bin/chromium ]; then
  log "Debian's chromium is missing (browser tests need it): installing it with apt"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  log "Debian's haproxy is missing (the load-balancer tests run three instances behind it): installing it with apt"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi

log "building, type-checking and linting"
npm run --silent build
npm run --silent typecheck
npx biome check . >/dev/null || { npx biome check . ; exit 1; }

status=0
passed=0
failed=0
skipped=0
if [ "$suite" -eq 1 ]; then
  log "running the test suite"
  report="$(mktemp -t gatehouse-vitest-XXXXXX.json)"
  npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
  read -r passed failed skipped < <(node -e '
    try {
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests);
    } catch { console.log(0, 0, 0); }
  ' "$report")
  rm -f "$report"
  # vitest failed without a failed test (it crashed, or wrote no report): count that as one.
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
fi

if [ "$runtimes" -eq 1 ]; then
  log "checking the other supported Node.js versions (scripts/runtime-check.sh)"
  runtime_counts="$(mktemp -t gatehouse-runtimes-XXXXXX)"
  bash scripts/runtime-check.sh --no-build --counts "$runtime_counts" || status=1
  read -r p f s <"$runtime_counts" || { p=0; f=1; s=0; }
  rm -f "$runtime_counts"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
fi

echo
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
exit "$status"

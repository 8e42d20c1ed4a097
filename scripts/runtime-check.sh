#!/usr/bin/env bash
# Checks Gatehouse on the other supported Node.js release lines (22 and 24 LTS by default), each
# fetched from the npm registry with `npx -y node@N`: vitest runs under that Node.js, so the smoke
# test starts the built CLI on it (default SQLite, built-in emulator, sign-in, tools/list, a note
# round-trip), and the SQLite driver tests and the SQLite storage contract suite run on the driver
# that Node.js uses. npm test runs this after the whole suite; on its own: npm run test:runtimes.
#
# Usage: scripts/runtime-check.sh [--no-build] [--counts FILE]
#   --no-build     dist/ is already built (npm test builds it first)
#   --counts FILE  write "passed failed skipped" totals to FILE (npm test adds them to its own)
# GATEHOUSE_TEST_RUNTIMES="22 24" chooses the release lines.
set -uo pipefail
cd "$(dirname "$0")/.."

build=1
counts_file=''
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --counts) counts_file="$2"; shift ;;
    *) echo "runtime-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

read -r -a runtimes <<<"${GATEHOUSE_TEST_RUNTIMES:-22 24}"
files=(
  test/e2e/runtime-smoke.test.ts
  test/unit/storage/sqlite-drivers.test.ts
  test/unit/cli/runtime-warnings.test.ts
  test/storage-contract/sqlite.test.ts
)

log() { printf '\n[runtimes] %s\n' "$*"; }

if [ "$build" -eq 1 ]; then
  log "building dist/"
  npm run --silent build || exit 1
fi

passed=0
failed=0
skipped=0
results=()
began=$SECONDS

for major in "${runtimes[@]}"; do
  started=$SECONDS
  log "Node.js $major: fetching it with npx -y node@$major"
  if ! version="$(npx -y "node@$major" --version 2>&1)"; then
    results+=("FAILED  Node.js $major: npx -y node@$major could not run it: $(head -2 <<<"$version" | tr '\n' ' ')")
    failed=$((failed + 1))
    continue
  fi
  log "Node.js $version: smoke test of the built CLI, SQLite drivers, SQLite storage contract"
  report="$(mktemp -t gatehouse-runtime-XXXXXX.json)"
  status=0
  npx -y "node@$major" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json \
    --outputFile.json="$report" "${files[@]}" || status=$?
  read -r p f s < <(node -e '
    try {
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests);
    } catch { console.log(0, 0, 0); }
  ' "$report")
  rm -f "$report"
  passed=$((passed + p))
  skipped=$((skipped + s))
  took=$((SECONDS - started))
  if [ "$status" -ne 0 ] || [ "$f" -gt 0 ] || [ "$p" -eq 0 ]; then
    # A run that failed without a failed test (vitest could not start, no test ran) counts as one.
    [ "$f" -gt 0 ] || f=1
    failed=$((failed + f))
    results+=("FAILED  Node.js $version: $f failed, $p passed (vitest exit $status, ${took}s)")
  else
    results+=("ok      Node.js $version: $p passed (${took}s)")
  fi
done

log "results on each Node.js ($((SECONDS - began))s in all):"
for line in "${results[@]}"; do printf '  %s\n' "$line"; done
[ -z "$counts_file" ] || echo "$passed $failed $skipped" >"$counts_file"
if [ "$failed" -gt 0 ]; then
  printf '\n[runtimes] RUNTIME CHECK FAILED: Gatehouse does not pass on every supported Node.js (see FAILED above).\n'
  exit 1
fi
exit 0

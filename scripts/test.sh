#!/usr/bin/env bash
# The README's test command: set up, type-check, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== type-check"
npx tsc --noEmit -p .
echo "== tests"
node scripts/run-tests.mjs "$@"

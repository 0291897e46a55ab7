#!/usr/bin/env bash
# The compiled CLI (scripts/build-cli.cjs): lib/ and bench/ transpiled into dist/<hash>/ so `vmat`
# starts without compiling TypeScript. bin/vmat.js rebuilds by itself when the sources change; this
# step only makes the first start fast. Idempotent (an up-to-date build is reused).
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/build-cli.cjs >/dev/null

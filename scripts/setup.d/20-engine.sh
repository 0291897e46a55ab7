#!/usr/bin/env bash
# Native engine: Debian's oneDNN (libdnnl-dev, the library PyTorch uses for CPU convolutions),
# then the N-API addon in native/ built with node-gyp against the installed Node headers.
# A failed build is reported and set-up continues: the engine then falls back (VMAT_BACKEND=auto
# picks the next path, lib/engine/paths.ts). Idempotent: rebuilds only when a source changed.
set -uo pipefail
cd "$(dirname "$0")/../.."

if ! apt_install libdnnl-dev g++ make python3; then
  echo "setup(engine): could not install libdnnl-dev; the native engine path will be unavailable" >&2
  exit 0
fi

addon=native/build/Release/vmat_native.node
stamp=native/build/.vmat-src-stamp
sum=$(cat native/binding.gyp native/src/* | sha256sum | cut -d' ' -f1)
if [ -f "$addon" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
  exit 0
fi

gyp=""
for cand in "$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
            /usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js \
            /usr/share/nodejs/node-gyp/bin/node-gyp.js; do
  if [ -f "$cand" ]; then gyp="$cand"; break; fi
done
nodedir_args=()
if [ -f /usr/include/node/node_api.h ]; then nodedir_args=(--nodedir=/usr); fi

echo "setup(engine): building native/ (oneDNN addon)"
log=$(mktemp)
if [ -n "$gyp" ]; then
  (cd native && node "$gyp" rebuild "${nodedir_args[@]}") >"$log" 2>&1
else
  (cd native && npx --yes node-gyp rebuild "${nodedir_args[@]}") >"$log" 2>&1
fi
rc=$?
if [ $rc -ne 0 ] || [ ! -f "$addon" ]; then
  echo "setup(engine): native addon build FAILED (exit $rc); the engine will fall back to a slower path. Last lines:" >&2
  tail -n 15 "$log" >&2
  rm -f "$log"
  exit 0
fi
rm -f "$log"
echo "$sum" > "$stamp"
echo "setup(engine): native addon built ($addon)"

#!/usr/bin/env bash
# `npm run lab`: Jupyter Notebook on http://127.0.0.1:${VMAT_LAB_PORT:-8888}/tree/notebooks with the
# project's TypeScript kernel (tslab wrapper in notebooks/kernels/vmat-tslab, found via JUPYTER_PATH).
# The URL with its access token is printed by Jupyter below. Set VMAT_LAB_PORT to change the port,
# VMAT_LAB_NO_BROWSER=1 to not open a browser.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VMAT_ROOT"
if ! command -v jupyter >/dev/null 2>&1 && [ ! -x /usr/bin/jupyter ]; then
  echo "lab: Jupyter is not installed: run bash scripts/setup.sh (see environment.md)" >&2
  exit 3
fi
JUPYTER=$(command -v /usr/bin/jupyter || command -v jupyter)
port=${VMAT_LAB_PORT:-8888}
args=(notebook --ip=127.0.0.1 --port="$port" --notebook-dir="$VMAT_ROOT")
if [ "${VMAT_LAB_NO_BROWSER:-0}" = "1" ] || [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then args+=(--no-browser); fi
if [ "$(id -u)" -eq 0 ]; then args+=(--allow-root); fi
echo "lab: open http://127.0.0.1:$port/tree/notebooks (kernel: 'TypeScript (vmat-lab)'; token URL below)"
exec "$JUPYTER" "${args[@]}"

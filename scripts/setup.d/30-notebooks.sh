#!/usr/bin/env bash
# Notebook environment: Jupyter (Debian packages, used through /usr/bin/python3 so a pyenv/conda
# python on PATH does not hide them), headless Chromium + fonts for figure export.
# tslab itself is an npm devDependency; its kernelspec lives in notebooks/kernels/ (JUPYTER_PATH),
# so nothing is registered globally. Idempotent: apt_install only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
# apt_install (exported by scripts/setup.sh) reads $SUDO, which setup.sh exports as VMAT_SUDO
SUDO=${SUDO:-${VMAT_SUDO:-}}
export SUDO

if command -v apt-get >/dev/null 2>&1; then
  # headless execution + HTML export, browser UI, figure export
  apt_install jupyter-client jupyter-nbconvert python3-nbclient python3-nbformat \
    jupyter-notebook \
    chromium fonts-dejavu-core fonts-liberation
else
  echo "setup: not a Debian/Ubuntu system; install Jupyter and Chromium yourself (see environment.md)" >&2
fi

# tslab's native zeromq binding must load; a broken build is reported here, not in the first notebook.
if ! node -e "require('zeromq')" >/dev/null 2>&1 && ! node -e "require(require.resolve('zeromq',{paths:[require.resolve('tslab/package.json')]}))" >/dev/null 2>&1; then
  echo "setup: warning: tslab's zeromq binding does not load; notebooks cannot run (try: npm rebuild zeromq)" >&2
fi
chmod +x notebooks/kernels/tslab/kernel.sh 2>/dev/null || true

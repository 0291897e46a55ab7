# Sourced by the notebook scripts: the project's kernelspec (notebooks/kernels/vmat-tslab) is
# found through JUPYTER_PATH, so nothing is registered globally. Debian's Jupyter lives under
# /usr/bin and /usr/bin/python3; a pyenv/conda python earlier on PATH must not shadow it.
VMAT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export VMAT_ROOT
export JUPYTER_PATH="$VMAT_ROOT/notebooks${JUPYTER_PATH:+:$JUPYTER_PATH}"
# jupyter-core: use platformdirs, not the deprecated ~/.jupyter fallbacks; no debugger warnings
export JUPYTER_PLATFORM_DIRS=1
export PYDEVD_DISABLE_FILE_VALIDATION=1
VMAT_PYTHON="${VMAT_PYTHON:-}"
if [ -z "$VMAT_PYTHON" ]; then
  for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import nbclient, nbformat' >/dev/null 2>&1; then VMAT_PYTHON="$p"; break; fi
  done
fi
export VMAT_PYTHON

#!/usr/bin/env bash
# Python peers for `vmat bench gamma` (bench/peers/gamma_shell.py): Debian's python3 with numpy,
# scipy and numba, so the pymedphys-equivalent peer runs with numba-compiled interpolation as
# pymedphys does by default. The bench still runs (numpy-only peer) when these are missing.
set -euo pipefail
apt_install python3-numpy python3-scipy python3-numba

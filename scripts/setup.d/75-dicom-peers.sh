#!/usr/bin/env bash
# Python peers of the DICOM-RT preprocessing (test/fixtures/dicom/, `vmat bench preprocess`):
# Debian's python3 with pydicom (its package also ships the small RT test files the tests read:
# pydicom/data/test_files/rtplan.dcm, rtdose.dcm, rtstruct.dcm, CT_small.dcm), scikit-image
# (skimage.draw.polygon, the reference's contour fill) and scipy/numpy (EDT, B-spline
# resampling). `vmat preprocess` itself needs none of them. Idempotent: apt_install only
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=${SUDO:-${VMAT_SUDO:-}}
export SUDO

if command -v apt-get >/dev/null 2>&1; then
  apt_install python3-numpy python3-scipy python3-skimage python3-pydicom
else
  echo "setup: not a Debian/Ubuntu system; for the DICOM tests install python3 with numpy, scipy, scikit-image and pydicom" >&2
fi

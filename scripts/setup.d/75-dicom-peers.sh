#!/usr/bin/env bash
# Python peers for the DICOM-RT tests (test/dicom: synth --format dicom, export-rtdose, qa-review):
# Debian's pydicom reads the written files, scikit-image fills RTSTRUCT contours the way the
# reference preprocessing does, and Debian's numpy 1.x loads the npz files vmat-lab writes.
# Idempotent (apt_install installs only what is missing); the tests skip with a reason without them.
set -euo pipefail
apt_install python3-numpy python3-pydicom python3-skimage

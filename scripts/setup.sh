#!/usr/bin/env bash
# One idempotent set-up for a Debian/Ubuntu machine (root or sudo): Node.js if missing, the npm
# packages, then every scripts/setup.d/*.sh step (Debian packages for notebooks, native engine, …).
# Safe to run again: each step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export SUDO VMAT_SUDO="$SUDO"

apt_install() {
  # installs only the Debian packages that are missing
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: apt-get install ${missing[*]}"
    if [ ! -f /tmp/.vmat-apt-updated ]; then $SUDO apt-get update -qq && touch /tmp/.vmat-apt-updated; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
export -f apt_install

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found $(node --version)); see environment.md" >&2
  exit 1
fi

# npm packages (skip when node_modules matches the lock file)
stamp=node_modules/.vmat-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] || continue
  bash "$step"
done
echo "setup: done"

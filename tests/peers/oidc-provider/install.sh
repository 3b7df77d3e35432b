#!/usr/bin/env bash
# Installs the oidc-provider stand-in's npm dependencies (and Node.js itself when missing).
# Idempotent and quiet: does nothing when node_modules matches package-lock.json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install.sh: node/npm missing, installing Debian's nodejs and npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

stamp="node_modules/.emsg-lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -d node_modules/oidc-provider ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

# Several test processes may start at once: one installs, the others wait for it.
exec 9>"${TMPDIR:-/tmp}/emsg-oidc-peer-install.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -d node_modules/oidc-provider ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
  echo "install.sh: npm ci failed in $here:" >&2
  cat "$log" >&2
  exit 1
fi
echo "$want" >"$stamp"

#!/usr/bin/env bash
# Install what the suite needs on a Debian/Ubuntu machine: system packages, then a
# virtualenv with the pinned Python packages. Safe to run again: it only adds what is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${root}/.venv"

# command -> Debian package that provides it
declare -A needs=(
  [mariadbd]=mariadb-server
  [mariadb]=mariadb-client
  [sshd]=openssh-server
  [bwrap]=bubblewrap
  [jq]=jq
  [shellcheck]=shellcheck
  [chromium]=chromium
  [setpriv]=util-linux
)

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

missing=()
for tool in "${!needs[@]}"; do
  have "${tool}" || missing+=("${needs[${tool}]}")
done
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# The report's browser test screenshots text: chromium only recommends a font.
[ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: not root and no sudo: install these packages first: ${missing[*]}" >&2
      exit 1
    fi
  fi
  ${sudo} apt-get update -qq
  DEBIAN_FRONTEND=noninteractive ${sudo} apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 - <<'PY' || { echo "setup: Python 3.11 or newer is required (python3 is $(python3 -V 2>&1))" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

[ -x "${venv}/bin/python" ] || python3 -m venv "${venv}"
stamp="${venv}/.requirements.sha256"
wanted="$(sha256sum "${root}/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "${stamp}" ] || [ "$(cat "${stamp}")" != "${wanted}" ]; then
  echo "setup: installing Python packages from requirements.txt"
  "${venv}/bin/pip" install --quiet --disable-pip-version-check -r "${root}/requirements.txt"
  echo "${wanted}" > "${stamp}"
fi

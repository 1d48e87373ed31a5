#!/usr/bin/env bash
# Install what the suite needs on a Debian/Ubuntu machine: system packages, then a
# virtualenv with the pinned Python packages. Safe to run again: it only adds what is missing.
# Usage: scripts/setup.sh [--then COMMAND...]: COMMAND runs as soon as .venv is ready, beside what is still
# installing (scripts/test.sh's code checks, while a fresh machine unpacks its Debian packages); its failure fails
# the setup.
set -euo pipefail

after_venv=()
if [ "${1:-}" = "--then" ]; then
  shift
  after_venv=("$@")
fi

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
  [nsenter]=util-linux
  [ip]=iproute2
  [curl]=curl
)
# Files the local AWS's EC2 instances use as their own (Debian's AWS CLI, not another one on PATH).
declare -A files=(
  [/usr/bin/aws]=awscli
  [/usr/lib/python3/dist-packages/certifi]=python3-certifi
  [/usr/bin/sudo]=sudo
)

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

missing=()
for tool in "${!needs[@]}"; do
  have "${tool}" || missing+=("${needs[${tool}]}")
done
for file in "${!files[@]}"; do
  [ -e "${file}" ] || missing+=("${files[${file}]}")
done
# Without python3-venv no virtualenv can be made: that package is installed first, on its own.
venv_missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || venv_missing=(python3-venv)
# The report's browser test screenshots text: chromium only recommends a font.
[ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)

sudo=""
if [ "$((${#missing[@]} + ${#venv_missing[@]}))" -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup: not root and no sudo: install these packages first: ${venv_missing[*]} ${missing[*]}" >&2
    exit 1
  fi
fi
apt_updated=""
# apt_install PACKAGE...: Debian's packages, quietly (the package lists read once).
apt_install() {
  echo "setup: installing system packages: $*"
  if [ -z "${apt_updated}" ]; then ${sudo} apt-get update -qq; apt_updated=yes; fi
  DEBIAN_FRONTEND=noninteractive ${sudo} apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
[ "${#venv_missing[@]}" -eq 0 ] || apt_install "${venv_missing[@]}"

python3 - <<'PY' || { echo "setup: Python 3.11 or newer is required (python3 is $(python3 -V 2>&1))" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

# The installer: uv (pinned in requirements-setup.txt, installed by pip into .venv) installs and compiles a
# virtualenv's packages in a fraction of pip's time (measured on 2 cores: 17 s where pip takes 59); where uv
# cannot be had, or fails (it reads no pip configuration: a machine reaching its packages only through pip's
# settings), pip installs them.
uv=""
[ -x "${venv}/bin/python" ] || python3 -m venv "${venv}"
if [ "$("${venv}/bin/uv" --version 2>/dev/null | cut -d' ' -f1,2)" = "$(sed -n 's/^uv==/uv /p' "${root}/requirements-setup.txt")" ] \
   || "${venv}/bin/pip" install --quiet --disable-pip-version-check -r "${root}/requirements-setup.txt"; then
  uv="${venv}/bin/uv"
else
  echo "setup: no uv: pip installs the Python packages"
fi

# venv_with DIR REQUIREMENTS: a virtualenv holding exactly the pinned packages (again only when they changed).
venv_with() {
  local dir="$1" requirements="$2" stamp wanted
  [ -x "${dir}/bin/python" ] || python3 -m venv "${dir}"
  stamp="${dir}/.requirements.sha256"
  wanted="$(sha256sum "${requirements}" | cut -d' ' -f1)"
  if [ ! -f "${stamp}" ] || [ "$(cat "${stamp}")" != "${wanted}" ]; then
    echo "setup: installing Python packages from $(basename "${requirements}")"
    # Compiled as pip compiles them: sandboxes read the packages where they cannot write bytecode.
    if [ -z "${uv}" ] || ! "${uv}" pip install --quiet --compile-bytecode --python "${dir}/bin/python" -r "${requirements}"; then
      [ -z "${uv}" ] || echo "setup: uv could not install $(basename "${requirements}"): pip installs it"
      "${dir}/bin/pip" install --quiet --disable-pip-version-check -r "${requirements}"
    fi
    echo "${wanted}" > "${stamp}"
  fi
}

# The system packages and the two virtualenvs are installed at the same time: on a fresh machine each
# mostly waits for its downloads. checkov pins a boto3 and a networkx of its own: it gets a virtualenv of its own.
jobs=()
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}" & jobs+=("$!"); fi
{ venv_with "${venv}" "${root}/requirements.txt" && { [ "${#after_venv[@]}" -eq 0 ] || "${after_venv[@]}"; }; } &
jobs+=("$!")
# checkov's JSONPath parser tables, written once (suite/controls/checkov_parse_tables.py): half its time otherwise.
# Without them checkov still works, slower: their failure is said, not fatal.
{ venv_with "${root}/.venv-checkov" "${root}/requirements-checkov.txt" && {
    "${root}/.venv-checkov/bin/python" "${root}/suite/controls/checkov_parse_tables.py" \
      || echo "setup: checkov's parser tables could not be written (its error is above): checkov builds them itself"
  }; } & jobs+=("$!")
failed=0
for job in "${jobs[@]}"; do
  wait "${job}" || failed=1
done
if [ "${failed}" -ne 0 ]; then
  echo "setup: a step failed (its error is above)" >&2
  exit 1
fi

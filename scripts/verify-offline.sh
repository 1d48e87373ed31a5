#!/usr/bin/env bash
# Verify the workshop end to end on this machine, no AWS account needed.
# Writes reports/offline.html (for instructors), reports/offline.xml (JUnit) and
# reports/offline.png (the report as headless Chromium shows it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${root}/scripts/setup.sh"
cd "${root}"
mkdir -p reports
# The run starts many Python processes (the local AWS, its functions' runtimes): each compiles the project's
# modules once, not again in every process, as it would where the environment forbids writing bytecode.
unset PYTHONDONTWRITEBYTECODE
status=0
read -r -a phases <<< "$(.venv/bin/python -m suite.report.phases)"  # the phases' folders, in the guide's order
.venv/bin/python -m pytest -m offline "${phases[@]}" \
  --html=reports/offline.html --self-contained-html --junitxml=reports/offline.xml "$@" || status=$?
if [ -f reports/offline.html ]; then
  .venv/bin/python -m suite.report.browser reports/offline.html || echo "verify-offline: the report did not open in Chromium" >&2
fi
exit "${status}"

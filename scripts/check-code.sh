#!/usr/bin/env bash
# The project's own Python checks, in seconds (configuration: pyproject.toml): ruff, then mypy. scripts/test.sh runs
# them as soon as .venv is ready (scripts/setup.sh --then), shellcheck once the Debian packages are.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/ruff check --quiet .
.venv/bin/python -m mypy

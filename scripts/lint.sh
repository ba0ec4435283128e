#!/usr/bin/env bash
# Lint, format check and type check, as CI runs them: ruff check, ruff format --check, mypy (config in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ ! -x .venv/bin/ruff ] || [ ! -x .venv/bin/mypy ]; then
    # the lint extra of pyproject.toml, without installing the project itself
    .venv/bin/pip install -q --disable-pip-version-check 'ruff>=0.6' 'mypy>=1.11' 'pre-commit>=3.5'
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

#!/usr/bin/env bash
# Sets up .venv (if needed) and starts the review window: the README's run command.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/python main.py "$@"

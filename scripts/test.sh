#!/usr/bin/env bash
# Sets up .venv (if needed) and runs the test suite: the README's test command (`-m slow`: the long runs).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,lint]'
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest -q "$@"

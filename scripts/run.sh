#!/usr/bin/env bash
# Sets up .venv (if needed) and starts the review window: the README's run command.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
# Qt's xcb plugin needs system libraries a minimal Linux lacks: name (or, as root, install) them
# before the window would stop with "Could not load the Qt platform plugin xcb".
.venv/bin/python -m zsad_desktop.ui.qt_libraries || exit 1
exec .venv/bin/python main.py "$@"

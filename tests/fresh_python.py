"""Which packages a fresh Python process has loaded after importing some of ours: in the test process,
a package an earlier test imported would hide the import under test."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded_after_importing(modules: list[str], watched: tuple[str, ...]) -> list[str]:
    """The `watched` top-level packages in sys.modules once `modules` are imported, sorted."""
    code = (
        "import json, sys\n"
        f"import {', '.join(modules)}\n"
        f"print(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)

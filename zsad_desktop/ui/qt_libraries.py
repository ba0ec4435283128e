"""Before the window starts on Linux: is there a display, and are the system libraries Qt's xcb
plugin needs installed?

Without a display (an SSH session: no DISPLAY, no WAYLAND_DISPLAY) Qt aborts with a core dump whose
message blames libxcb-cursor0 even when it is installed, so the display is checked first and the
user is told how to get a window or to use the command line instead.

A minimal Debian lacks several (libxcb-cursor0, libxcb-icccm4, ...) and Qt then stops with
"Could not load the Qt platform plugin xcb", which names none of them. scripts/run.sh runs
`python -m zsad_desktop.ui.qt_libraries` first: it reads `ldd` on PySide6's libqxcb.so and
prints the one apt command that installs what is missing (or runs it, when root with apt).
No Qt is imported here: the check must work where Qt cannot load.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Debian package for each library Qt 6's xcb plugin links (bookworm and trixie names).
DEBIAN_PACKAGES = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libpng16.so.16": "libpng16-16",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libexpat.so.1": "libexpat1",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def uses_xcb(environ: dict[str, str] | os._Environ = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt would pick its xcb plugin: on Linux, QT_QPA_PLATFORM unset, empty or xcb first."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    # "xcb:option=value" carries plugin options; "wayland;xcb" is a list tried in order.
    first = chosen.split(";")[0].split(":")[0].strip()
    return first in ("", "xcb")


# Qt platforms that draw through a display server; the others (offscreen, minimal, eglfs, linuxfb,
# vnc) need none.
_DISPLAY_PLATFORMS = ("", "xcb", "wayland", "wayland-egl")


def display_missing(environ: dict[str, str] | os._Environ = os.environ, platform: str | None = None) -> bool:
    """On Linux, Qt would need a display server but neither DISPLAY nor WAYLAND_DISPLAY names one."""
    if not (platform or sys.platform).startswith("linux"):
        return False
    first = environ.get("QT_QPA_PLATFORM", "").strip().split(";")[0].split(":")[0].strip()
    if first not in _DISPLAY_PLATFORMS:
        return False
    return not (environ.get("DISPLAY", "").strip() or environ.get("WAYLAND_DISPLAY", "").strip())


NO_DISPLAY_ADVICE = """\
The review window cannot start: no display was found (neither DISPLAY nor WAYLAND_DISPLAY is set,
as in an SSH session).
To see the window, run it from a desktop session on this computer, or connect with X forwarding
(`ssh -X user@host`, then ./scripts/run.sh again).
Without a window, the command line does the same work: `.venv/bin/zsad predict FOLDER --out DIR`
writes heatmaps and scores.csv (`.venv/bin/zsad --help` lists every command)."""


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames `ldd` could not find, in its order, each once."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def debian_packages(sonames: list[str]) -> tuple[list[str], list[str]]:
    """(the packages that provide `sonames`, the sonames no package is known for), in order."""
    known = [DEBIAN_PACKAGES[name] for name in sonames if name in DEBIAN_PACKAGES]
    unknown = [name for name in sonames if name not in DEBIAN_PACKAGES]
    return list(dict.fromkeys(known)), unknown


def install_command(packages: list[str], as_root: bool) -> str:
    """The one command that installs `packages` on Debian or Ubuntu."""
    apt = f"apt-get update && apt-get install -y {' '.join(packages)}"
    if as_root:
        return apt
    return f"sudo sh -c '{apt}'"


def advice(sonames: list[str], as_root: bool = False) -> str:
    """What to tell the user when `sonames` are missing (empty when nothing is)."""
    if not sonames:
        return ""
    packages, unknown = debian_packages(sonames)
    lines = [
        "The review window cannot start: Qt's xcb platform plugin needs system libraries that are "
        f"not installed: {', '.join(sonames)}.",
    ]
    if packages:
        lines += ["Install them with:", "", f"    {install_command(packages, as_root)}", ""]
    if unknown:
        lines.append(
            f"No Debian package is known here for {', '.join(unknown)}; "
            "`apt-file search <name>` finds the one that provides it."
        )
    lines.append("(Other systems: install your distribution's packages for these libraries.)")
    return "\n".join(lines)


def xcb_plugin() -> Path | None:
    """PySide6's libqxcb.so, found without importing Qt (None when PySide6 has none)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def ldd(library: Path) -> str | None:
    """`ldd`'s report on `library`, or None when there is no ldd to ask."""
    if shutil.which("ldd") is None:
        return None
    done = subprocess.run(["ldd", str(library)], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def can_install_with_apt() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def main() -> int:
    """Exit 0 when the window can start (or xcb is not used); else say why not and what to do, exit 1."""
    if display_missing():
        print(NO_DISPLAY_ADVICE, file=sys.stderr)
        return 1
    if not uses_xcb():
        return 0
    plugin = xcb_plugin()
    report = ldd(plugin) if plugin else None
    if report is None:
        return 0  # nothing to check with: let Qt speak for itself
    missing = missing_libraries(report)
    if not missing:
        return 0
    packages, unknown = debian_packages(missing)
    if packages and not unknown and can_install_with_apt():
        print(f"Installing the libraries Qt's window needs: {' '.join(packages)}", file=sys.stderr)
        installed = subprocess.run(["sh", "-c", install_command(packages, as_root=True)], check=False)
        still_missing = missing_libraries(ldd(plugin) or "")
        if installed.returncode == 0 and not still_missing:
            return 0
        missing = still_missing or missing
    print(advice(missing, as_root=os.name == "posix" and os.geteuid() == 0), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

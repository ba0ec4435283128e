"""The run command names (or installs) the system libraries Qt's xcb plugin lacks, before the window starts."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from zsad_desktop.ui import qt_libraries

REPO = Path(__file__).resolve().parents[2]

# ldd on PySide6's libqxcb.so on a minimal Debian 12 (trimmed).
MINIMAL_DEBIAN_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd1a5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f6b2c000000)
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f6b2bff0000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-render-util.so.0 => not found
\tlibfoo-unknown.so.3 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f6b2bfc0000)
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_missing_libraries_are_read_from_ldd_once_each_in_order():
    assert qt_libraries.missing_libraries(MINIMAL_DEBIAN_LDD) == [
        "libxkbcommon-x11.so.0",
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
        "libxcb-render-util.so.0",
        "libfoo-unknown.so.3",
    ]
    assert qt_libraries.missing_libraries("\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n") == []


def test_advice_is_one_apt_command_with_the_debian_packages_and_names_the_unknown():
    text = qt_libraries.advice(qt_libraries.missing_libraries(MINIMAL_DEBIAN_LDD))
    command = [line.strip() for line in text.splitlines() if "apt-get install" in line]
    assert command == [
        "sudo sh -c 'apt-get update && apt-get install -y libxkbcommon-x11-0 libxcb-cursor0 "
        "libxcb-icccm4 libxcb-keysyms1 libxcb-render-util0'"
    ]
    assert "libfoo-unknown.so.3" in text and "apt-file search" in text
    assert qt_libraries.advice([]) == ""


def test_only_checked_when_qt_would_use_xcb_on_linux():
    assert qt_libraries.uses_xcb({}, "linux")
    assert qt_libraries.uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert qt_libraries.uses_xcb({"QT_QPA_PLATFORM": "xcb:nograb"}, "linux")
    assert not qt_libraries.uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not qt_libraries.uses_xcb({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux")
    assert not qt_libraries.uses_xcb({}, "darwin")
    assert not qt_libraries.uses_xcb({}, "win32")


def test_the_check_prints_the_command_and_fails_when_it_cannot_install(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(qt_libraries.sys, "platform", "linux")
    monkeypatch.setattr(qt_libraries, "xcb_plugin", lambda: tmp_path / "libqxcb.so")
    monkeypatch.setattr(qt_libraries, "ldd", lambda library: MINIMAL_DEBIAN_LDD)
    monkeypatch.setattr(qt_libraries, "can_install_with_apt", lambda: False)
    assert qt_libraries.main() == 1
    assert "apt-get install -y libxkbcommon-x11-0 libxcb-cursor0" in capsys.readouterr().err
    monkeypatch.setattr(qt_libraries, "ldd", lambda library: "\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n")
    assert qt_libraries.main() == 0


def test_as_root_with_apt_it_installs_the_packages(tmp_path):
    """Real subprocess: fake ldd and apt-get first on PATH; ldd reports nothing missing once apt-get ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, installed = tmp_path / "apt.log", tmp_path / "installed"
    known_only = MINIMAL_DEBIAN_LDD.replace("\tlibfoo-unknown.so.3 => not found\n", "")
    _executable(bin_dir / "ldd", f"#!/bin/sh\n[ -e {installed} ] || cat <<'X'\n{known_only}X\n")
    _executable(bin_dir / "apt-get", f'#!/bin/sh\necho "$@" >> {log}\ntouch {installed}\n')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("QT_QPA_PLATFORM", None)
    env["DISPLAY"] = ":0"
    as_root = "import sys; from zsad_desktop.ui import qt_libraries as q; q.can_install_with_apt = lambda: True; sys.exit(q.main())"
    done = subprocess.run([sys.executable, "-c", as_root], env=env, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [
        "update",
        "install -y libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-render-util0",
    ]


def test_run_script_stops_before_the_window_when_the_check_fails(tmp_path):
    """scripts/run.sh in a copy of the repository whose .venv/bin/python fails the check: main.py never starts."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "run.sh", root / "scripts" / "run.sh")
    calls = tmp_path / "calls.log"
    _executable(root / ".venv" / "bin" / "pip", "#!/bin/sh\nexit 0\n")
    _executable(
        root / ".venv" / "bin" / "python",
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        "if [ \"$2\" = zsad_desktop.ui.qt_libraries ]; then echo 'install libxcb-cursor0' >&2; exit 1; fi\nexit 0\n",
    )
    done = subprocess.run(
        ["bash", str(root / "scripts" / "run.sh"), "FOLDER"], capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "libxcb-cursor0" in done.stderr
    assert calls.read_text().splitlines() == ["-m zsad_desktop.ui.qt_libraries"]


def test_a_display_is_needed_only_by_qts_display_platforms_on_linux():
    assert qt_libraries.display_missing({}, "linux")
    assert qt_libraries.display_missing({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": " "}, "linux")
    assert not qt_libraries.display_missing({"DISPLAY": ":0"}, "linux")
    assert not qt_libraries.display_missing({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not qt_libraries.display_missing({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not qt_libraries.display_missing({}, "darwin") and not qt_libraries.display_missing({}, "win32")


def test_run_script_without_a_display_says_so_instead_of_qts_core_dump(tmp_path):
    """scripts/run.sh as in an SSH session (real check, real subprocess): no display, so no window and
    no talk of libxcb-cursor0, but how to get a window and the command line to use instead."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    (root / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "run.sh", root / "scripts" / "run.sh")
    _executable(root / ".venv" / "bin" / "pip", "#!/bin/sh\nexit 0\n")
    # the package's python, without main.py: the window must not be reached
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(["bash", str(root / "scripts" / "run.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "no display was found" in done.stderr and "ssh -X" in done.stderr
    assert "zsad predict FOLDER --out DIR" in done.stderr and "libxcb-cursor0" not in done.stderr


def test_the_window_command_without_a_display_says_so(monkeypatch, capsys):
    from PySide6.QtWidgets import QApplication

    from zsad_desktop.ui import launch

    monkeypatch.setattr(QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(qt_libraries.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert launch.run_gui() == 1
    assert "no display was found" in capsys.readouterr().err

"""Start the application window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from zsad_desktop.ui.main_window import MainWindow
from zsad_desktop.ui.preferences import load_preferences


def run_gui(folder: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("zsad-desktop")
    app.setOrganizationName("zsad-desktop")
    window = MainWindow(load_preferences())
    window.show()
    if folder:
        window.open_folder(folder)
    return app.exec()

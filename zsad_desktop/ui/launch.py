"""Start the review window (main.py and `zsad gui` call this)."""

from __future__ import annotations

import sys
from dataclasses import fields, replace
from typing import Any

from PySide6.QtWidgets import QApplication

from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.settings import AppSettings
from zsad_desktop.ui.settings import APPLICATION, ORGANISATION, load_settings

DETECTOR_OPTIONS = {f.name for f in fields(DetectorSettings)} - {"extra"}
OTHER_OPTIONS = {"reviewer", "prompts_file", "flag_score"}


def apply_options(settings: AppSettings, options: dict[str, Any]) -> AppSettings:
    """Command-line choices over the saved settings (they are kept, as if chosen in Settings)."""
    unknown = set(options) - DETECTOR_OPTIONS - OTHER_OPTIONS
    if unknown:
        raise TypeError(f"unknown option(s) for the window: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in options.items() if v is not None}
    settings.detector = replace(
        settings.detector, **{k: v for k, v in given.items() if k in DETECTOR_OPTIONS}
    )
    for key in OTHER_OPTIONS & set(given):
        setattr(settings, key, given[key])
    return settings


def run_gui(folder: str | None = None, db_url: str | None = None, **options: Any) -> int:
    """Show the window (opening `folder` if given) and run until it closes; returns the exit code.

    Options: device, method, model_name, pretrained, image_size, object_name,
    checkpoint, reviewer, prompts_file, flag_score (None leaves the saved value). `db_url`: the
    folder's workspace in that database (a team's PostgreSQL) instead of its own.
    """
    from zsad_desktop.app.prediction.jobs import prepare_detection_in_background
    from zsad_desktop.ui.main_window import MainWindow
    from zsad_desktop.ui.qt_libraries import NO_DISPLAY_ADVICE, display_missing

    if QApplication.instance() is None and display_missing():  # Qt would abort with a core dump
        print(NO_DISPLAY_ADVICE, file=sys.stderr)
        return 1
    prepare_detection_in_background()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANISATION)
    window = MainWindow(apply_options(load_settings(), options))
    window.show()
    if folder:
        window.open_folder(folder, db_url)
    return app.exec()

"""`zsad gui` and main.py hand their detector options to the window."""

import runpy
import sys
from pathlib import Path

from zsad_desktop import cli
from zsad_desktop.ui import launch


def test_gui_command_passes_the_options_it_was_given(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        launch, "run_gui", lambda folder=None, **options: calls.append((folder, options)) or 0
    )
    assert (
        cli.main(
            [
                "gui",
                str(tmp_path),
                "--method",
                "crane",
                "--device",
                "cpu",
                "--reviewer",
                "ana",
                "--precision",
                "float32",
            ]
        )
        == 0
    )
    [(folder, options)] = calls
    assert folder == str(tmp_path)
    assert options["method"] == "crane" and options["device"] == "cpu" and options["reviewer"] == "ana"
    assert options["precision"] == "float32"
    assert options["model_name"] is None  # not given: the saved choice stays (apply_options skips None)


def test_main_py_is_the_gui_command(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        launch, "run_gui", lambda folder=None, **options: calls.append((folder, options)) or 3
    )
    monkeypatch.setattr(sys, "argv", ["main.py", str(tmp_path), "--image-size", "336"])
    main_py = Path(__file__).resolve().parents[2] / "main.py"
    try:
        runpy.run_path(str(main_py), run_name="__main__")
    except SystemExit as stop:
        assert stop.code == 3
    else:
        raise AssertionError("main.py did not exit with run_gui's code")
    assert calls == [
        (
            str(tmp_path),
            {
                **dict.fromkeys(
                    (
                        "method",
                        "model_name",
                        "pretrained",
                        "checkpoint",
                        "object_name",
                        "device",
                        "precision",
                        "gelu",
                        "reviewer",
                    )
                ),
                "image_size": 336,
            },
        )
    ]

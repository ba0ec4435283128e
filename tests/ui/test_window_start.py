"""The window starts without waiting for torch: the detection stack loads on a thread of its own."""

from __future__ import annotations

import subprocess
import sys

from tests.fresh_python import loaded_after_importing

HEAVY = ("torch", "open_clip", "sklearn", "highdicom")


def test_the_window_modules_load_without_torch_or_scikit_learn():
    # torch and open_clip took 9 of the 11 s before the window showed on a 2-core CPU
    assert loaded_after_importing(["zsad_desktop.ui.launch", "zsad_desktop.ui.main_window"], HEAVY) == []


def test_the_detection_stack_loads_in_the_background_and_leaves_a_core_for_the_window():
    code = (
        "import os, sys\n"
        "from zsad_desktop.app.prediction.jobs import prepare_detection_in_background\n"
        "assert 'torch' not in sys.modules\n"
        "prepare_detection_in_background().join(120)\n"
        "import torch\n"
        "from zsad_desktop.detection.interface import _REGISTRY\n"
        "cores = os.cpu_count() or 1\n"
        "print(sorted(_REGISTRY), torch.get_num_threads() == (cores - 1 if cores > 1 else torch.get_num_threads()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['aaclip', 'baseline', 'crane', 'musc'] True"

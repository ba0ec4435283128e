"""`bench/inference.py --compare` on a backbone that a method's checkpoint does not fit."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT, TINY


def test_compare_skips_a_method_whose_checkpoint_does_not_fit_and_times_the_others(shared_data, tmp_path):
    released = shared_data.parent / "checkpoints" / "crane" / "trained_on_mvtec_crane" / "epoch_5.pth"
    assert released.is_file()  # Crane's released 768-wide prompts: they cannot fill a 64-wide model
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "inference.py"),
            "--compare",
            "--model-name",
            TINY,
            "--image-size",
            "112",
            "--images",
            "1",
            "--methods",
            "crane",
            "baseline",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "ZSAD_CACHE_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    skipped = next(line for line in lines if line.startswith("crane:"))
    assert "skipped" in skipped and "does not fit" in skipped and "text width 64" in skipped
    assert any(line.startswith("baseline: exact") and "max |map diff|" in line for line in lines)

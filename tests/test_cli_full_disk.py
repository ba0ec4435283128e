"""`zsad predict --out` and `zsad export` on a full filesystem: exit 2, one line, what was finished kept.

The filesystem is a small tmpfs the test mounts where it can (as root on Linux); elsewhere the same
writes are made to fail with ENOSPC after a few files.
"""

import contextlib
import csv
import errno
import os
import shutil
import subprocess
import uuid

import numpy as np
import pytest

from tests.conftest import TINY
from zsad_desktop import cli
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.user_errors import write_problem
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import ReviewStatus

TINY_OPTIONS = ["--model-name", TINY, "--pretrained", "random", "--image-size", "112", "--device", "cpu"]


@contextlib.contextmanager
def small_filesystem(parent, size_bytes):
    """A tmpfs of `size_bytes` at a new folder in `parent`, or None where it cannot be mounted."""
    target = parent / f"full-{uuid.uuid4().hex[:8]}"
    target.mkdir()
    mounted = (
        os.name == "posix"
        and os.geteuid() == 0
        and shutil.which("mount")
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(target)], capture_output=True
        ).returncode
        == 0
    )
    try:
        yield target if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(target)], check=False)


def fail_writes_after(monkeypatch, module, name, files):
    """Without a tmpfs: `module.name` (a file writer) raises ENOSPC from its `files`+1-th call on."""
    original = getattr(module, name)
    calls = {"n": 0}

    def writer(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > files:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, writer)


def _one_error_line(err):
    lines = [line for line in err.splitlines() if "error" in line.lower()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("error: the disk is full writing "), lines[0]


@pytest.fixture
def images(tmp_path, shared_data):
    folder = tmp_path / "images"
    for kind in ("crack", "good"):  # four images: enough to fill the disk halfway through
        shutil.copytree(shared_data / "mvtec_ad" / "hazelnut" / "test" / kind, folder / kind)
    return folder


def _output_bytes(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_predict_out_on_a_full_disk_exits_2_in_one_line_and_keeps_the_finished_rows(
    images, tmp_path, capsys, monkeypatch
):
    whole = tmp_path / "whole"
    assert cli.main(["predict", str(images), "--out", str(whole), *TINY_OPTIONS]) == 0
    total, rows = _output_bytes(whole), len(_rows(whole))
    with small_filesystem(tmp_path, max(total // 2, 64 * 1024)) as mounted:
        out = mounted
        if out is None:
            from zsad_desktop.app.prediction import folder_prediction

            out = tmp_path / "simulated"
            fail_writes_after(monkeypatch, folder_prediction, "atomic_write", rows)  # two files an image
        capsys.readouterr()
        code = cli.main(["predict", str(images), "--out", str(out), *TINY_OPTIONS])
        _one_error_line(capsys.readouterr().err)
        assert code == 2
        finished = _rows(out)
        assert 0 < len(finished) < rows
        for row in finished:  # each finished row's heatmaps are whole
            stem = os.path.splitext(row["path"])[0]
            for suffix in ("_heatmap.png", "_raw16.png"):
                assert (out / f"{stem}{suffix}").stat().st_size > 0


def _rows(out):
    with open(out / "scores.csv", newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row.get("score")]


def _review(workspace, rows):
    for row in rows:
        mask = np.zeros((row.height, row.width), bool)
        mask[10:60, 10:60] = True
        record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=mask)


def test_export_on_a_full_disk_exits_2_in_one_line_and_keeps_the_earlier_export(
    images, tmp_path, capsys, monkeypatch
):
    with Workspace.open(images) as workspace:
        scan(workspace)
        rows = workspace.images(order="name")
        _review(workspace, rows[:2])
        whole = tmp_path / "whole"
        assert cli.main(["export", str(images), "--out", str(whole)]) == 0
        first_bytes = _output_bytes(whole)
        with small_filesystem(tmp_path, first_bytes * 3) as mounted:
            out = mounted
            if out is None:
                from zsad_desktop.app.exports import mvtec

                out = tmp_path / "simulated"
            assert cli.main(["export", str(images), "--out", str(out)]) == 0
            earlier = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
            _review(workspace, rows)  # now the export needs several times the space
            if mounted is None:
                fail_writes_after(monkeypatch, mvtec, "_write_png", 3)
            capsys.readouterr()
            code = cli.main(["export", str(images), "--out", str(out)])
            _one_error_line(capsys.readouterr().err)
            assert code == 2
            now = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
            assert now == earlier  # the earlier export whole, the half-written one gone


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "read-only"),
        (errno.ESTALE, "went away"),
        (errno.EIO, "went away"),
        (errno.ENOENT, "not there any more"),
    ],
)
def test_each_write_error_the_user_can_fix_is_one_line(code, words):
    message = write_problem(OSError(code, os.strerror(code), "/mnt/share/out/x.png"))
    assert words in message and "/mnt/share/out/x.png" in message and "\n" not in message


def test_a_bug_is_not_dressed_as_a_write_error():
    assert write_problem(OSError(errno.EBADF, "Bad file descriptor")) is None
    assert write_problem(ValueError("x")) is None


def test_retrain_on_a_full_disk_exits_2_in_one_line_and_keeps_the_active_model(
    images, tmp_path, capsys, monkeypatch
):
    from zsad_desktop.app.training import model_versions
    from zsad_desktop.detection import training
    from zsad_desktop.store import TrainingRun, TrainingStatus

    backbone = {"model_name": TINY, "pretrained": "random", "image_size": 112}
    with Workspace.open(images) as workspace:
        scan(workspace)
        model_versions.register_version(workspace, "untrained", "baseline", backbone, activate=True)
        workspace.set_setting("retrain_minimum", 2)
        rows = workspace.images(order="name")
        _review(workspace, [r for r in rows if "crack" in r.rel_path])
        for row in rows:
            if "good" in row.rel_path:
                record_review(workspace, row.id, ReviewStatus.NORMAL)

    def full(*_args, out_dir, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out_dir / "adapter.pt"))

    monkeypatch.setattr(training, "train_method", full)  # retraining imports it when a run starts
    capsys.readouterr()
    assert cli.main(["retrain", str(images), "--device", "cpu"]) == 2
    _one_error_line(capsys.readouterr().err)
    with Workspace.open(images) as workspace:
        assert model_versions.active_version(workspace).model_id == "untrained"
        with workspace.database.read() as session:
            runs = session.query(TrainingRun).all()
        assert [r.status for r in runs] == [TrainingStatus.FAILED]

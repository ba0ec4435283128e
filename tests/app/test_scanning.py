import os
import shutil
import threading

import pytest

from tests.app.conftest import HAZELNUT_SIZE
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.workspace.scanning import scan, walk_images
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import ReviewStatus


def test_scan_finds_every_image_and_records_unreadable_ones(hazelnut_copy):
    (hazelnut_copy / "broken.png").write_bytes(b"not a png at all")
    (hazelnut_copy / "notes.txt").write_text("not an image")
    ws = Workspace.open(hazelnut_copy)
    progress = []
    report = scan(ws, progress=lambda done, total: progress.append((done, total)))
    expected = len(list(hazelnut_copy.rglob("*.png")))
    assert report.added == expected and len(report.unreadable) == 1 and "broken.png" in report.unreadable[0]
    assert progress[-1] == (expected, expected)
    rows = {r.rel_path: r for r in ws.images(order="name")}
    assert set(rows) == {p.relative_to(hazelnut_copy).as_posix() for p in hazelnut_copy.rglob("*.png")}
    assert rows["broken.png"].load_error and rows["broken.png"].content_hash
    assert (rows["crack/000.png"].height, rows["crack/000.png"].width) == HAZELNUT_SIZE
    assert rows["crack/000.png"].bit_depth == 8 and rows["crack/000.png"].load_error is None
    assert ws.counts()[ReviewStatus.UNREVIEWED] == expected
    ws.close()


def test_hidden_workspace_and_ground_truth_folders_are_not_images(tmp_path, shared_data):
    shutil.copytree(shared_data / "mvtec_ad" / "hazelnut", tmp_path / "hazelnut")
    (tmp_path / "hazelnut" / ".thumbnails").mkdir()
    shutil.copy(
        tmp_path / "hazelnut" / "test" / "good" / "000.png", tmp_path / "hazelnut" / ".thumbnails" / "x.png"
    )
    found = {rel for rel, _ in walk_images(tmp_path / "hazelnut")}
    assert found and not any("ground_truth" in rel or rel.startswith(".") for rel in found)
    assert "test/good/000.png" in found and "train/good/000.png" in found


def test_rescan_hashes_nothing_when_nothing_changed(workspace, monkeypatch):
    import zsad_desktop.app.workspace.scanning as scanning

    hashed = []
    original = scanning.content_hash
    monkeypatch.setattr(scanning, "content_hash", lambda path: hashed.append(path) or original(path))
    report = scan(workspace)
    assert hashed == [] and report.added == report.changed == report.missing == 0
    assert report.unchanged == len(workspace.images())


def test_changed_file_is_rehashed_and_loses_its_review(workspace):
    row = workspace.images(order="name")[0]
    record_review(workspace, row.id, ReviewStatus.NORMAL)
    path = workspace.folder / row.rel_path
    path.write_bytes(path.read_bytes() + b"\0")  # other pixels file: the old decision no longer applies
    os.utime(path, ns=(1, 1))
    assert scan(workspace).changed == 1
    again = workspace.image(row.id)
    assert again.content_hash != row.content_hash and again.status is ReviewStatus.UNREVIEWED


def test_touched_but_identical_file_keeps_its_review(workspace):
    row = workspace.images(order="name")[0]
    record_review(workspace, row.id, ReviewStatus.NORMAL)
    os.utime(workspace.folder / row.rel_path, ns=(10**9, 10**9))
    assert scan(workspace).changed == 1
    assert workspace.image(row.id).status is ReviewStatus.NORMAL


def test_moved_file_keeps_its_review_and_a_returning_file_reappears(workspace):
    first = workspace.images(order="name")[0]
    record_review(workspace, first.id, ReviewStatus.NORMAL, reviewer="ana")
    source = workspace.folder / first.rel_path
    (workspace.folder / "moved").mkdir()
    shutil.move(source, workspace.folder / "moved" / "renamed.png")
    report = scan(workspace)
    assert report.added == 1 and report.missing == 1
    moved = next(r for r in workspace.images() if r.rel_path == "moved/renamed.png")
    assert moved.status is ReviewStatus.NORMAL and moved.reviewer == "ana"
    assert first.rel_path not in {r.rel_path for r in workspace.images()}
    assert scan(workspace).missing == 0  # already known to be gone
    shutil.copy2(workspace.folder / "moved" / "renamed.png", source)  # same bytes, same time: back as it was
    report = scan(workspace)
    assert report.added == 0 and report.changed == 0
    assert workspace.image(first.id).status is ReviewStatus.NORMAL
    assert first.rel_path in {r.rel_path for r in workspace.images()}


def test_cancelled_scan_keeps_what_it_wrote_and_the_next_scan_finishes(hazelnut_copy, monkeypatch):
    import zsad_desktop.app.workspace.scanning as scanning

    monkeypatch.setattr(scanning, "COMMIT_EVERY", 3)
    ws = Workspace.open(hazelnut_copy)
    cancel = threading.Event()
    report = scan(ws, progress=lambda done, total: cancel.set() if done >= 3 else None, cancel=cancel)
    assert report.cancelled and report.added == 3 and len(ws.images()) == 3
    report = scan(ws)
    assert not report.cancelled and report.added == 7 and report.unchanged == 3
    ws.close()


def test_unreadable_folder_entry_does_not_stop_the_scan(hazelnut_copy):
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    locked = hazelnut_copy / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        ws = Workspace.open(hazelnut_copy)
        assert scan(ws).added == 10
        ws.close()
    finally:
        locked.chmod(0o755)


def test_every_file_named_like_an_image_is_listed_readable_or_with_its_reason(tmp_path, shared_data):
    """A broken symbolic link, a pipe and a link to a folder are unreadable with a reason; GIF and WebP
    (animated ones by their first frame) are images."""
    from PIL import Image as Pillow

    from zsad_desktop.imaging import read_rgb8

    folder = tmp_path / "odd"
    folder.mkdir()
    shutil.copy(shared_data / "mvtec_ad" / "hazelnut" / "test" / "good" / "000.png", folder / "ok.png")
    os.symlink(tmp_path / "gone.png", folder / "dangling.png")
    os.symlink(tmp_path, folder / "folder.png")
    os.mkfifo(folder / "pipe.png")  # opening it would wait forever
    frames = [Pillow.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    frames[0].save(folder / "moving.gif", save_all=True, append_images=frames[1:], duration=100)
    frames[1].save(folder / "moving.webp", save_all=True, append_images=frames[:1], duration=100)
    ws = Workspace.open(folder)
    report = scan(ws)
    rows = {r.rel_path: r for r in ws.images(order="name")}
    assert set(rows) == {"ok.png", "dangling.png", "folder.png", "pipe.png", "moving.gif", "moving.webp"}
    assert (
        rows["dangling.png"].load_error
        == f"broken symbolic link (its target {tmp_path / 'gone.png'} does not exist)"
    )
    assert rows["folder.png"].load_error == "not a file"
    assert "not a regular file" in rows["pipe.png"].load_error
    assert len(report.unreadable) == 3
    for name, first in (("moving.gif", (255, 0, 0)), ("moving.webp", (0, 0, 255))):
        assert rows[name].load_error is None and (rows[name].width, rows[name].height, rows[name].frame) == (
            40,
            30,
            None,
        )
        assert tuple(read_rgb8(folder / name)[15, 20]) == first  # the first frame is the image
    assert scan(ws).unchanged == 6  # listed once, not again as new
    ws.close()

import os
import stat

import numpy as np
import pytest
from PIL import Image

from zsad_desktop.imaging import masks
from zsad_desktop.imaging.loaded import ImageLoadError
from zsad_desktop.imaging.masks import (
    atomic_write,
    connected_regions,
    fill_holes,
    read_mask,
    write_bytes_atomic,
    write_mask_png,
)


def ring_and_bar():
    mask = np.zeros((20, 20), bool)
    mask[2:8, 2:8] = True
    mask[4:6, 4:6] = False  # a hole
    mask[12:15, 12:18] = True
    return mask


def test_mask_round_trip_as_mvtec_png(tmp_path):
    mask = ring_and_bar()
    write_mask_png(tmp_path / "sub" / "m.png", mask)
    stored = np.asarray(Image.open(tmp_path / "sub" / "m.png"))
    assert stored.dtype == np.uint8 and set(np.unique(stored)) == {0, 255}
    np.testing.assert_array_equal(read_mask(tmp_path / "sub" / "m.png"), mask)


def test_read_mask_foreground_rules(tmp_path):
    indexed = Image.new("P", (3, 1))
    indexed.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)  # index 0 drawn white: still background
    indexed.putdata([0, 1, 0])
    indexed.save(tmp_path / "p.png")
    assert read_mask(tmp_path / "p.png").tolist() == [[False, True, False]]
    rgba = np.array([[[0, 0, 0, 255], [200, 0, 0, 255], [0, 0, 0, 0]]], np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")  # opaque black is background: alpha is no label
    assert read_mask(tmp_path / "rgba.png").tolist() == [[False, True, False]]
    Image.fromarray(np.array([[0, 1, 300]], np.uint16)).save(tmp_path / "16.png")
    assert read_mask(tmp_path / "16.png").tolist() == [[False, True, True]]


def test_read_mask_errors(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("no")
    for name, reason in (
        ("empty.png", "empty"),
        ("text.png", "not a readable image"),
        ("gone.png", "not found"),
    ):
        with pytest.raises(ImageLoadError, match=reason) as error:
            read_mask(tmp_path / name)
        assert error.value.path == tmp_path / name


def test_write_mask_rejects_non_masks(tmp_path):
    for bad in (np.zeros((2, 2, 3)), np.zeros((0, 4))):
        with pytest.raises(ValueError, match="mask"):
            write_mask_png(tmp_path / "m.png", bad)
    assert not (tmp_path / "m.png").exists()


def test_regions_and_holes():
    labels, count = connected_regions(ring_and_bar())
    assert count == 2 and labels.shape == (20, 20) and set(np.unique(labels)) == {0, 1, 2}
    diagonal = np.eye(3, dtype=bool)
    assert connected_regions(diagonal)[1] == 1 and connected_regions(diagonal, connectivity=4)[1] == 3
    filled = fill_holes(ring_and_bar())
    assert filled[4:6, 4:6].all() and filled.sum() == ring_and_bar().sum() + 4


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, mode="w") as handle:
            handle.write("half of the new")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temporary file left behind


def test_atomic_write_keeps_the_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "m.png"
    write_mask_png(target, np.ones((4, 4), bool))
    before = target.read_bytes()

    def disk_gone(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(masks.os, "replace", disk_gone)
    with pytest.raises(OSError, match="No space"):
        write_mask_png(target, np.zeros((4, 4), bool))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]


def test_atomic_write_replaces_and_sets_ordinary_permissions(tmp_path):
    write_bytes_atomic(tmp_path / "a.bin", b"one")
    write_bytes_atomic(tmp_path / "a.bin", b"two")
    assert (tmp_path / "a.bin").read_bytes() == b"two"
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == masks.NEW_FILE_MODE  # not mkstemp's 0600
        os.chmod(tmp_path / "a.bin", 0o640)
        write_bytes_atomic(tmp_path / "a.bin", b"three")
        assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o640  # an existing file keeps its mode
    with atomic_write(tmp_path / "t.txt", mode="w") as handle:
        handle.write("zürich\n")
    assert (tmp_path / "t.txt").read_bytes() == "zürich\n".encode()
    with pytest.raises(ValueError, match="whole files"):
        with atomic_write(tmp_path / "x", mode="ab"):
            pass

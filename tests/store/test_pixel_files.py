import os
import time

import numpy as np
import pytest

from zsad_desktop.store import PixelFiles, StoreError


def test_masks_round_trip_and_never_overwrite(tmp_path):
    files = PixelFiles(tmp_path)
    mask = np.zeros((5, 7), bool)
    mask[1:3, 2:6] = True
    first = files.write_mask("ab" * 20, mask)
    second = files.write_mask("ab" * 20, ~mask)
    assert first != second and first.startswith("masks/ab/")
    np.testing.assert_array_equal(files.read_mask(first), mask)
    np.testing.assert_array_equal(files.read_mask(second), ~mask)


def test_heatmaps_are_float16_on_disk_float32_in_memory(tmp_path):
    files = PixelFiles(tmp_path)
    heat = np.random.default_rng(0).random((64, 48)).astype(np.float32)
    relative = files.write_heatmap("cd" * 20, "model:v1", heat)
    with np.load(files.path(relative)) as data:
        assert data["heatmap"].dtype == np.float16
    back = files.read_heatmap(relative)
    assert back.dtype == np.float32 and back.shape == heat.shape
    np.testing.assert_allclose(back, heat, atol=5e-4)


def test_heatmaps_beyond_float16_range_keep_float32(tmp_path):
    files = PixelFiles(tmp_path)
    heat = np.array([[0.0, 1e6], [np.inf, -3.0]], np.float32)
    back = files.read_heatmap(files.write_heatmap("ef" * 20, "m", heat))
    np.testing.assert_array_equal(back, heat)


def test_unreadable_pixel_files_raise_store_errors(tmp_path):
    files = PixelFiles(tmp_path)
    (tmp_path / "heatmaps" / "bad.npz").write_bytes(b"PK not really")
    (tmp_path / "masks" / "bad.png").write_bytes(b"")
    with pytest.raises(StoreError, match="heatmap .*bad.npz"):
        files.read_heatmap("heatmaps/bad.npz")
    with pytest.raises(StoreError, match="mask .*bad.png.* cannot be read"):
        files.read_mask("masks/bad.png")
    with pytest.raises(StoreError, match="heatmap"):
        files.read_heatmap("heatmaps/none.npz")


def test_sweep_removes_only_stale_temporary_files(tmp_path):
    files = PixelFiles(tmp_path)
    folder = tmp_path / "masks" / "ab"
    folder.mkdir()
    stale, fresh, kept = folder / ".x.png.123.tmp", folder / ".y.png.456.tmp", folder / "z.png"
    for path in (stale, fresh, kept):
        path.write_bytes(b"x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    assert files.sweep_temporary() == 1
    assert not stale.exists() and fresh.exists() and kept.exists()

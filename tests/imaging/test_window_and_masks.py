import numpy as np
import pytest

from zsad_desktop.imaging.masks import atomic_write, connected_regions, fill_holes, read_mask, write_mask_png
from zsad_desktop.imaging.window import apply_window, percentile_window


def test_apply_window_by_hand():
    values = np.array([[-1000, 0, 40, 80, 1000]], np.float32)
    out = apply_window(values, centre=40, width=80)  # 0..80 -> 0..255
    assert out.tolist() == [[0, 0, 128, 255, 255]]


def test_percentile_window_spans_the_range():
    values = np.arange(10001, dtype=np.uint16)
    centre, width = percentile_window(values, 0, 100)
    assert centre == pytest.approx(5000) and width == pytest.approx(10000)


def test_mask_round_trip_regions_and_holes(tmp_path):
    mask = np.zeros((20, 20), bool)
    mask[2:8, 2:8] = True
    mask[4:6, 4:6] = False
    mask[12:15, 12:18] = True
    write_mask_png(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png"), mask)
    _, count = connected_regions(mask)
    assert count == 2
    assert fill_holes(mask)[4:6, 4:6].all()


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, mode="w") as handle:
            handle.write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]

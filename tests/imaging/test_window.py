import numpy as np
import pytest

from zsad_desktop.imaging import (
    PRESETS,
    LoadedImage,
    apply_window,
    full_range_window,
    percentile_window,
    to_rgb8,
)
from zsad_desktop.imaging import window as window_module


def test_apply_window_by_hand():
    values = np.array([[-1000, 0, 20, 40, 60, 80, 1000]], np.float32)
    # centre 40, width 80: 0..80 -> 0..255; 20 -> 63.75 -> 64; 40 -> 127.5 -> 128; 60 -> 191.25 -> 191
    assert apply_window(values, 40, 80).tolist() == [[0, 0, 64, 128, 191, 255, 255]]


def test_ct_presets_by_hand():
    hounsfield = np.array([-1000, -600, 0, 40, 400, 1300], np.float32)
    assert PRESETS["CT brain"] == (40.0, 80.0) and PRESETS["CT lung"] == (-600.0, 1500.0)
    assert apply_window(hounsfield, *PRESETS["CT brain"]).tolist() == [0, 0, 0, 128, 255, 255]
    # lung -1350..150: -1000 -> 350*255/1500 = 59.5 -> 60; -600 -> 128; 0 -> 1350*255/1500 = 229.5 -> 230, 40 -> 236.3
    assert apply_window(hounsfield, *PRESETS["CT lung"]).tolist() == [60, 128, 230, 236, 255, 255]
    # bone -500..1300: -1000 -> 0, 0 -> 500*255/1800 = 70.8 -> 71, 40 -> 76.5 -> 77, 400 -> 128, 1300 -> 255
    assert apply_window(hounsfield, *PRESETS["CT bone"]).tolist() == [0, 0, 71, 77, 128, 255]


def test_lookup_table_path_equals_the_float_path():
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    for centre, width in ((1000, 3000), (32767.5, 65535), (12, 0.5), (-50, 10)):
        np.testing.assert_array_equal(
            apply_window(values, centre, width), apply_window(values.astype(np.float32), centre, width)
        )
    grey = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(
        apply_window(grey, 127.5, 255), grey
    )  # the full 8-bit window is the identity


def test_chunked_rows_equal_one_pass(monkeypatch):
    values = np.random.default_rng(0).normal(0, 500, (37, 29, 3)).astype(np.float32)
    whole = apply_window(values, 10, 700)
    monkeypatch.setattr(window_module, "CHUNK_ELEMENTS", 100)  # 1 row of 87 values per chunk
    np.testing.assert_array_equal(apply_window(values, 10, 700), whole)
    assert whole.shape == values.shape and whole.dtype == np.uint8


def test_nan_and_zero_width():
    assert apply_window(np.array([np.nan, 5.0]), 5, 10).tolist() == [0, 128]
    assert apply_window(np.array([4.0, 6.0]), 5, 0).tolist() == [0, 255]  # a zero width is a threshold


def test_percentile_window():
    values = np.arange(10001, dtype=np.uint16)
    assert percentile_window(values, 0, 100) == pytest.approx((5000, 10000))
    assert percentile_window(values) == pytest.approx((5000, 9900))  # 0.5 % -> 50, 99.5 % -> 9950
    rgb = np.zeros((400, 500, 3), np.uint16)
    rgb[..., 2] = 1000  # blue only: a sample must keep every channel
    assert percentile_window(rgb, 0, 100, max_samples=1000) == pytest.approx((500, 1000))
    assert percentile_window(np.array([np.nan, 1.0, 3.0]), 0, 100) == pytest.approx((2, 2))


def test_flat_images_show_mid_grey():
    flat = np.full((5, 5), 300, np.uint16)
    assert (apply_window(flat, *percentile_window(flat)) == 128).all()


def test_full_range_window():
    assert full_range_window(8) == (127.5, 255.0)
    assert apply_window(np.array([0, 4095], np.uint16), *full_range_window(12)).tolist() == [0, 255]


def test_to_rgb8_defaults(tmp_path):
    grey8 = LoadedImage(np.array([[0, 100]], np.uint8), 8, "photo", tmp_path / "a.png")
    assert to_rgb8(grey8).tolist() == [[[0] * 3, [100] * 3]]  # 8-bit: as stored
    assert to_rgb8(grey8, (100, 50))[0, 1].tolist() == [128] * 3  # unless a window is asked for
    wide = LoadedImage(
        np.linspace(0, 60000, 1001, dtype=np.float32).astype(np.uint16)[None], 16, "photo", tmp_path / "b.png"
    )
    shown = to_rgb8(wide)[0, :, 0]
    assert shown[:5].tolist() == [0] * 5 and shown[-5:].tolist() == [255] * 5  # 0.5..99.5 percentile stretch
    dicom = LoadedImage(
        np.array([[0.0, 40.0]], np.float32), 12, "dicom", tmp_path / "c.dcm", default_window=(40, 80)
    )
    assert to_rgb8(dicom)[0, :, 0].tolist() == [0, 128]
    assert to_rgb8(dicom).flags["C_CONTIGUOUS"]

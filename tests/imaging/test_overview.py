"""Thumbnails' overview of an image: sampled rows of a large TIFF, never the whole image decoded."""

import subprocess
import sys

import cv2
import numpy as np
import pytest
import tifffile

from tests.conftest import REPO_ROOT
from zsad_desktop.imaging import ImageLoadError, apply_window, load_image, percentile_window, to_rgb8
from zsad_desktop.imaging.overview import read_overview_rgb8


def _scan(shape=(3000, 2000)):
    pixels = np.tile(np.linspace(1000, 50000, shape[1]).astype(np.uint16), (shape[0], 1))
    pixels[1000:1400, 500:900] = 65000
    return pixels


@pytest.mark.parametrize("layout", [dict(), dict(tile=(256, 256)), dict(compression="zlib")])
def test_a_large_tiff_is_sampled_every_nth_pixel_and_windowed_like_the_viewer(tmp_path, layout):
    pixels = _scan()
    tifffile.imwrite(tmp_path / "scan.tif", pixels, **layout)
    shown = read_overview_rgb8(tmp_path / "scan.tif", side=256)
    sampled = pixels[::11, ::11]  # 3000 // 256
    assert shown.shape == (*sampled.shape, 3)
    np.testing.assert_array_equal(shown[..., 0], apply_window(sampled, *percentile_window(sampled)))


def test_small_and_non_tiff_images_are_read_as_for_display(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (300, 200, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "photo.png"), rgb[..., ::-1])
    np.testing.assert_array_equal(read_overview_rgb8(tmp_path / "photo.png", side=256), rgb)
    np.testing.assert_array_equal(read_overview_rgb8(tmp_path / "photo.png", side=100), rgb[::3, ::3])
    assert np.array_equal(
        read_overview_rgb8(tmp_path / "photo.png", side=1024), to_rgb8(load_image(tmp_path / "photo.png"))
    )
    (tmp_path / "broken.tif").write_bytes(b"II*\0 not really")
    with pytest.raises(ImageLoadError):
        read_overview_rgb8(tmp_path / "broken.tif")


MEMORY_SCRIPT = r"""
import sys, tracemalloc
import numpy as np, tifffile
from zsad_desktop.imaging.overview import read_overview_rgb8
path = sys.argv[1]
pixels = np.full((8000, 8000), 30000, np.uint16)
tifffile.imwrite(path, pixels, tile=(512, 512), compression="zlib")
del pixels
tracemalloc.start()
shown = read_overview_rgb8(path, side=1024)
print(tracemalloc.get_traced_memory()[1] // 2**20, *shown.shape)
"""


def test_an_overview_of_a_compressed_8000_px_scan_decodes_a_band_at_a_time(tmp_path):
    """Peak allocations under 40 MiB where the decoded image is 122 MiB."""
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path / "big.tif")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    peak, *shape = done.stdout.split()
    assert int(peak) < 40 and shape == ["1143", "1143", "3"], done.stdout  # every 7th pixel (8000 // 1024)

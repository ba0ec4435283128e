import subprocess
import sys

import numpy as np
import pytest

from zsad_desktop.detection.interface import Detection, Detector
from zsad_desktop.detection.tiling import TilingConfig, blend_weights, tile_starts, tiled_predict


class LocalMeanDetector(Detector):
    """Heatmap = each pixel's own brightness: a tiled run must give back the image."""

    method = "local-mean"

    @property
    def model_id(self) -> str:
        return "local-mean"

    def predict(self, images):
        return [
            Detection(float(img.max()) / 255, img[..., 0].astype(np.float32) / 255, self.model_id)
            for img in images
        ]


def test_tiles_cover_the_image_with_the_requested_overlap():
    starts = tile_starts(1000, 300, 50)
    assert starts[0] == 0 and starts[-1] == 700
    assert all(b - a <= 250 for a, b in zip(starts, starts[1:]))
    assert tile_starts(200, 300, 50) == [0]
    w = blend_weights(10, 10, 4)
    assert w[5, 5] == 1.0 and w[0, 0] < w[2, 2]


def test_tiled_heatmap_matches_untiled_where_both_fit():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (700, 900, 3), dtype=np.uint8)
    rows = []
    result = tiled_predict(
        LocalMeanDetector(),
        image,
        TilingConfig(tile_size=256, overlap=64, display_max_side=900),
        sink=lambda y, band: rows.append((y, band)),
    )
    full = np.concatenate([band for _, band in rows])
    assert full.shape == (700, 900)
    untiled = LocalMeanDetector().predict([image])[0]
    np.testing.assert_allclose(full, untiled.heatmap, atol=1e-5)
    np.testing.assert_allclose(result.reduced_heatmap, untiled.heatmap, atol=1e-5)
    assert result.score == pytest.approx(untiled.score)
    assert [y for y, _ in rows] == sorted(y for y, _ in rows)


def test_cancel_stops_between_tiles():
    import threading

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(InterruptedError):
        tiled_predict(
            LocalMeanDetector(),
            np.zeros((600, 600, 3), np.uint8),
            TilingConfig(tile_size=200, overlap=20),
            cancel=cancel,
        )


LARGE_SCRIPT = r"""
import sys
import numpy as np
from zsad_desktop.detection.tiling import TilingConfig, tiled_predict
from tests.detection.test_tiling import LocalMeanDetector
path = sys.argv[1]
side = 20000
image = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(side, side))
image[5000:5100, 7000:7100] = 255
image.flush(); del image
image = np.load(path, mmap_mode="r")
import tracemalloc
tracemalloc.start()  # numpy reports its buffers here; the memory-mapped file's pages are not allocations
result = tiled_predict(LocalMeanDetector(), image, TilingConfig(tile_size=1000, overlap=100, display_max_side=2000))
grown = tracemalloc.get_traced_memory()[1] // 2**20
peak = result.reduced_heatmap[480:530, 680:730].max()
print(grown, result.reduced_heatmap.shape, float(peak), result.score)
"""


def test_20000_pixel_image_streams_in_bounded_memory(tmp_path):
    """Peak allocations stay under 500 MiB, where one float32 map alone would be 1,526 MiB."""
    done = subprocess.run(
        [sys.executable, "-c", LARGE_SCRIPT, str(tmp_path / "large.npy")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    grown_mib, *rest = done.stdout.split()
    assert int(grown_mib) < 500, done.stdout
    assert "(2000, 2000)" in done.stdout
    assert float(done.stdout.split()[-2]) > 0.5  # the bright square shows in the reduced map

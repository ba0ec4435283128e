"""Large images in a workspace and in `zsad predict`: predicted by overlapping tiles with bounded memory,
the heatmap blended back at full resolution (or its reduced map, stretched over the image by readers)."""

import shutil
import subprocess
import sys

import cv2
import numpy as np
import tifffile

from tests.app.fakes import BrightnessDetector
from tests.conftest import REPO_ROOT, TINY
from zsad_desktop import cli
from zsad_desktop.app.prediction import tiled_prediction
from zsad_desktop.app.prediction.workspace_predictions import cached_prediction, heatmap, predict_images
from zsad_desktop.app.review import review_session
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.training.model_versions import register_version
from zsad_desktop.app.viewer.viewer_model import DisplaySettings, ViewerModel
from zsad_desktop.app.workspace.detector_input import TilingChoice, set_tiling_choice
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import NormalisationStats, create_detector
from zsad_desktop.imaging import load_image, to_rgb8

TINY_SETTINGS = dict(model_name=TINY, pretrained="random", image_size=112, device="cpu")


def _workspace(folder, tiling: TilingChoice) -> Workspace:
    ws = Workspace.open(folder)
    scan(ws)
    set_tiling_choice(ws, tiling)
    return ws


def test_tiled_heatmap_matches_the_untiled_one_of_a_per_pixel_detector(tmp_path):
    """Brightness is computed per pixel, so tiles and the whole image see it at the same scale: the blended
    map must equal the untiled one up to float16 storage (2e-3)."""
    rng = np.random.default_rng(1)
    pixels = cv2.GaussianBlur(rng.integers(0, 65535, (600, 500), dtype=np.uint16), (0, 0), 5)
    (tmp_path / "big").mkdir()
    cv2.imwrite(str(tmp_path / "big" / "part.png"), pixels)
    with _workspace(tmp_path / "big", TilingChoice(tile_size=256, overlap=48)) as ws:
        row = ws.images()[0]
        (tiled,) = predict_images(ws, BrightnessDetector(), [row.id])
        set_tiling_choice(ws, TilingChoice(enabled=False))
        (whole,) = predict_images(ws, BrightnessDetector(), [row.id])
        assert tiled.detector_input == "file-window|tile:256:48" and whole.detector_input == "file-window"
        tiled_map, whole_map = heatmap(ws, tiled), heatmap(ws, whole)
        assert tiled_map.shape == whole_map.shape == (600, 500)
        np.testing.assert_allclose(tiled_map, whole_map, atol=2e-3)
        assert cached_prediction(ws, row.id, "test-brightness:v1", tiled.detector_input) == tiled  # both kept


def test_tiled_clip_heatmap_equals_the_tile_where_one_tile_covers_the_image(tmp_path, shared_data):
    """A CLIP detector sees a tile at the tile's scale: where only the first tile covers the image, the blended
    map is that tile's own heatmap (float16 storage: 1e-3)."""
    image = cv2.resize(
        cv2.imread(str(shared_data / "mvtec_ad" / "hazelnut" / "test" / "crack" / "000.png")), (448, 448)
    )
    (tmp_path / "nut").mkdir()
    cv2.imwrite(str(tmp_path / "nut" / "nut.png"), image)
    detector = create_detector("baseline", **TINY_SETTINGS)
    with _workspace(tmp_path / "nut", TilingChoice()) as ws:  # default tiles: 2 x 112 = 224, overlap 28
        row = ws.images()[0]
        (stored,) = predict_images(ws, detector, [row.id])
        assert stored.detector_input == "tile:224:28"
        rgb = to_rgb8(load_image(ws.absolute_path(row)))
        first_tile = detector.predict([rgb[:224, :224]])[0].heatmap
        alone = 224 - 28 - 1  # tiles start at 0, 196 (= 224 - 28) and 224
        np.testing.assert_allclose(heatmap(ws, stored)[:alone, :alone], first_tile[:alone, :alone], atol=1e-3)
        whole = detector.predict([rgb])[0].heatmap
        assert (
            np.abs(heatmap(ws, stored) - whole).max() > 1e-2
        )  # the untiled map is another scale: tiling did act


def test_a_very_large_image_keeps_its_reduced_map_stretched_over_the_image(tmp_path, monkeypatch):
    monkeypatch.setattr(tiled_prediction, "FULL_HEATMAP_MAX_PIXELS", 1_000_000)
    pixels = np.zeros((2600, 2300), np.uint8)
    pixels[1300:1400, 1000:1100] = 255
    (tmp_path / "scan").mkdir()
    tifffile.imwrite(tmp_path / "scan" / "line.tif", pixels, tile=(256, 256))  # tiled TIFF: read by regions
    with _workspace(tmp_path / "scan", TilingChoice(tile_size=700, overlap=64)) as ws:
        (stored,) = predict_images(ws, BrightnessDetector(), [ws.images()[0].id])
        kept, covers = ws.files.read_heatmap_and_shape(stored.heatmap_file)
        assert covers == (2600, 2300) and max(kept.shape) == 2048  # the reduced map, with the size it covers
        full = heatmap(ws, stored)
        assert full.shape == (2600, 2300) and full[1350, 1050] > 0.9 and full[200, 200] < 0.01
        small = heatmap(ws, stored, max_side=500)
        assert max(small.shape) == 500 and small[250, 201] > 0.5  # the bright square, at 500 / 2600 scale

        # the review window holds the reduced map; its proposal is at the image's size
        monkeypatch.setattr(review_session, "VIEW_HEATMAP_MAX_SIDE", 500)
        register_version(ws, BrightnessDetector().model_id, "fake", {}, activate=True)
        view = ReviewSession(ws, DetectorSettings()).view(ws.images()[0].id)
        assert view.raw_heatmap.shape == small.shape
        model = ViewerModel(DisplaySettings(threshold=0.5))
        model.show(view.pixels8, view.raw_heatmap, NormalisationStats(0.0, 1.0), levels=view.levels)
        assert model.proposals.settle(60)  # a large image's proposal is made on a worker thread
        (square,) = model.regions
        left, top, width, height = square.box
        assert model.proposal.data.shape == (2600, 2300) and abs(left - 1000) < 12 and abs(top - 1300) < 12
        assert abs(width - 100) < 16 and abs(square.area - 100 * 100) < 2000


MEMORY_SCRIPT = r"""
import sys, tracemalloc
import numpy as np, tifffile
from zsad_desktop.app.workspace.detector_input import CURRENT_WINDOW, InputChoice, TilingChoice, set_input_choice, set_tiling_choice
from zsad_desktop.app.prediction.workspace_predictions import heatmap, predict_images
from zsad_desktop.app.training.model_versions import register_version
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.viewer.viewer_model import DisplaySettings, ViewerModel
from zsad_desktop.app.workspace.workspace import Workspace
from tests.app.fakes import BrightnessDetector

folder, side = sys.argv[1], 20000
image = tifffile.memmap(folder + "/wafer.tif", shape=(side, side), dtype=np.uint16)  # uncompressed, on disk
image[:] = 20000
image[5000:5200, 7000:7200] = 60000
image.flush(); del image
ws = Workspace.open(folder)
scan(ws)
set_tiling_choice(ws, TilingChoice(tile_size=1000, overlap=100))
set_input_choice(ws, InputChoice(CURRENT_WINDOW))
ws.set_setting("display_window", [40000, 40000])  # 20000 black, 60000 white
tracemalloc.start()  # numpy reports its buffers here; the memory-mapped file's pages are not allocations
(stored,) = predict_images(ws, BrightnessDetector(), [ws.images()[0].id])
grown = tracemalloc.get_traced_memory()[1] // 2**20
tracemalloc.stop()
shown = heatmap(ws, stored, max_side=2000)
print(grown, stored.detector_input, shown.shape, float(shown[510, 710]), float(shown[100, 100]))
"""


def test_a_20000_pixel_image_predicts_in_a_workspace_in_bounded_memory(tmp_path):
    """Peak allocations stay under 400 MiB, where the 16-bit image is 763 MiB and one float32 map 1,526 MiB."""
    (tmp_path / "wafer").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path / "wafer")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    grown, key, *shape, bright, dark = done.stdout.split()
    assert int(grown) < 400, done.stdout
    assert key == "window:40000:40000|tile:1000:100" and "".join(shape) == "(2000,2000)"
    assert float(bright) > 0.9 > 0.1 > float(dark)  # the bright square shows at its place in the reduced map


def test_head_ct_slices_scan_predict_and_view(tmp_path, shared_data):
    source = shared_data / "headct" / "head_ct" / "test"
    folder = tmp_path / "headct"
    for kind in ("good", "hemorrhage"):
        (folder / kind).mkdir(parents=True)
        for path in sorted((source / kind).glob("*.png"))[:2]:
            shutil.copy(path, folder / kind / path.name)
    session = ReviewSession.open(folder, DetectorSettings(**TINY_SETTINGS, object_name="head"))
    try:
        assert scan(session.workspace).added == 4
        rows = session.workspace.images(order="name")
        outcomes = list(predict_images(session.workspace, session.detector(), [r.id for r in rows]))
        assert len(outcomes) == 4 and all(0.0 <= o.score <= 1.0 for o in outcomes)
        for row in rows:
            view = session.view(row.id)
            assert view.pixels8.shape[:2] == (row.height, row.width) and view.heatmap is not None
            assert view.heatmap.shape == (row.height, row.width)
    finally:
        session.close()


def test_zsad_predict_tiles_by_the_options_and_refuses_a_missing_folder(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "wide.png"), np.full((300, 700), 30000, np.uint16))
    cv2.imwrite(str(tmp_path / "in" / "small.png"), np.full((100, 120, 3), 50, np.uint8))
    options = ["--model-name", TINY, "--pretrained", "random", "--image-size", "112", "--device", "cpu"]
    assert (
        cli.main(
            [
                "predict",
                str(tmp_path / "in"),
                "--out",
                str(tmp_path / "out"),
                "--tile-size",
                "256",
                "--tile-overlap",
                "32",
                "--detector-input",
                "window:30000:2000",
                *options,
            ]
        )
        == 0
    )
    assert "2 images scored" in capsys.readouterr().out
    lines = (tmp_path / "out" / "scores.csv").read_text().splitlines()
    assert lines[0] == "path,frame,score,model,detector_input,error"
    keys = {line.split(",")[0]: line.split(",")[4] for line in lines[1:]}
    assert keys == {"wide.png": "window:30000:2000|tile:256:32", "small.png": ""}
    assert cv2.imread(str(tmp_path / "out" / "wide_heatmap.png")).shape[:2] == (300, 700)

    assert (
        cli.main(["predict", str(tmp_path / "no-such-folder"), "--out", str(tmp_path / "x"), *options]) == 2
    )
    assert "no-such-folder: no such folder" in capsys.readouterr().err
    assert (
        cli.main(["predict", str(tmp_path / "in" / "wide.png"), "--out", str(tmp_path / "x"), *options]) == 2
    )
    assert "not a folder" in capsys.readouterr().err and not (tmp_path / "x").exists()

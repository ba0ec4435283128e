"""What the detector sees: the workspace's rule turns wide-range pixels into its input, and the rule's key is
stored with each prediction, so a changed choice makes a new prediction while the old one stays."""

import cv2
import numpy as np
import pytest

from tests.app.fakes import BrightnessDetector
from zsad_desktop.app.prediction.workspace_predictions import cached_prediction, heatmap, predict_images
from zsad_desktop.app.review.settings import WorkspaceInputSettings
from zsad_desktop.app.workspace.detector_input import (
    CURRENT_WINDOW,
    DISPLAY_WINDOW_SETTING,
    FILE_WINDOW,
    INPUT_SETTING,
    PERCENTILE,
    DetectorInput,
    InputChoice,
    TilingChoice,
    input_choice,
    input_for,
    prediction_key,
    set_input_choice,
)
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.demo.ct import write_ct_demo
from zsad_desktop.detection.tiling import TilingConfig
from zsad_desktop.imaging import apply_window, load_image, percentile_window
from zsad_desktop.store import Prediction


def test_keys_name_the_rule_and_the_tiles():
    assert (
        input_for(InputChoice(PERCENTILE), 8, "photo").key == ""
    )  # 8-bit photos as stored, whatever the rule
    assert input_for(InputChoice(), 16, "photo").key == "file-window"
    assert input_for(InputChoice(PERCENTILE, 1, 99), 16, "photo").key == "percentile:1:99"
    assert input_for(InputChoice(CURRENT_WINDOW), 16, "dicom", (40, 80)).key == "window:40:80"
    assert input_for(InputChoice(CURRENT_WINDOW), 16, "dicom", None).key == "file-window"  # no window set yet
    assert input_for(InputChoice(PERCENTILE), 8, "dicom").key.startswith(
        "percentile"
    )  # DICOM is never "as stored"
    tiles = TilingChoice().config(518)
    assert (
        (tiles.tile_size, tiles.overlap)
        == (1036, 129)
        == (TilingConfig.for_input_size(518).tile_size, TilingConfig.for_input_size(518).overlap)
    )
    assert prediction_key(DetectorInput(""), tiles) == "tile:1036:129"
    assert prediction_key(DetectorInput("window", (-600, 1500)), tiles) == "window:-600:1500|tile:1036:129"
    assert TilingChoice(tile_size=800).config(None).tile_size == 800 and TilingChoice().config(None) is None
    assert TilingChoice(enabled=False).config(518) is None
    with pytest.raises(ValueError, match="half"):
        TilingChoice(tile_size=100, overlap=60)
    with pytest.raises(ValueError, match="at least 64"):
        TilingChoice(tile_size=10)
    with pytest.raises(ValueError, match="detector input"):
        InputChoice("brightest")


def test_the_rules_window_16_bit_pixels_as_documented():
    pixels = (np.arange(100 * 120, dtype=np.uint32).reshape(100, 120) * 5).astype(np.uint16)
    assert DetectorInput(FILE_WINDOW).window_for(pixels, (40.0, 80.0)) == (40.0, 80.0)
    assert DetectorInput(FILE_WINDOW).window_for(pixels, None) == percentile_window(pixels)
    assert DetectorInput(PERCENTILE, lo=2, hi=98).window_for(pixels, (40.0, 80.0)) == percentile_window(
        pixels, 2, 98
    )
    assert DetectorInput("window", (1000.0, 500.0)).window_for(pixels, (40.0, 80.0)) == (1000.0, 500.0)
    assert DetectorInput("").window_for(pixels.astype(np.uint8), None) is None


@pytest.fixture
def mixed_folder(tmp_path):
    """Two 16-bit grey PNGs (a ramp and its mirror) and an 8-bit colour one."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    ramp = np.tile(np.linspace(1000, 60000, 96).astype(np.uint16), (64, 1))
    cv2.imwrite(str(folder / "a16.png"), ramp)
    cv2.imwrite(str(folder / "b16.png"), ramp[:, ::-1].copy())
    cv2.imwrite(str(folder / "c8.png"), np.full((64, 96, 3), 90, np.uint8))
    ws = Workspace.open(folder)
    scan(ws)
    yield ws
    ws.close()


def _keys(workspace):
    with workspace.database.read() as session:
        return sorted((p.image_hash[:6], p.detector_input) for p in session.query(Prediction))


def test_a_changed_choice_makes_a_new_prediction_and_the_old_one_stays(mixed_folder):
    ws = mixed_folder
    rows = {r.rel_path: r for r in ws.images(order="name")}
    detector = BrightnessDetector()
    first = {p.image_id: p for p in predict_images(ws, detector, [r.id for r in rows.values()])}
    assert {first[r.id].detector_input for r in rows.values()} == {"file-window", ""}
    assert first[rows["c8.png"].id].detector_input == ""

    set_input_choice(ws, InputChoice(PERCENTILE, 20.0, 80.0))
    second = {p.image_id: p for p in predict_images(ws, detector, [r.id for r in rows.values()])}
    assert detector.calls == 3 + 2  # the 8-bit image is used as stored: its prediction still holds
    assert second[rows["a16.png"].id].detector_input == "percentile:20:80"
    assert second[rows["c8.png"].id] == first[rows["c8.png"].id]
    assert len(_keys(ws)) == 5  # both predictions of each 16-bit image are kept

    a16 = rows["a16.png"]
    new = cached_prediction(ws, a16.id, detector.model_id)  # the workspace's current choice by default
    old = cached_prediction(ws, a16.id, detector.model_id, "file-window")
    assert new.detector_input == "percentile:20:80" and old.detector_input == "file-window"
    pixels = load_image(ws.absolute_path(a16)).pixels
    np.testing.assert_allclose(
        heatmap(ws, new), apply_window(pixels, *percentile_window(pixels, 20, 80)) / 255, atol=2e-3
    )
    np.testing.assert_allclose(
        heatmap(ws, old), apply_window(pixels, *percentile_window(pixels)) / 255, atol=2e-3
    )
    assert not np.allclose(heatmap(ws, new), heatmap(ws, old), atol=0.05)  # 20-80 saturates the ends

    set_input_choice(ws, InputChoice(FILE_WINDOW))  # back to the first choice: nothing computed again
    list(predict_images(ws, detector, [r.id for r in rows.values()]))
    assert detector.calls == 5


def test_the_reviewers_window_is_what_the_detector_sees(mixed_folder):
    ws = mixed_folder
    set_input_choice(ws, InputChoice(CURRENT_WINDOW))
    ws.set_setting(DISPLAY_WINDOW_SETTING, {"centre": 30000, "width": 10000})
    row = next(r for r in ws.images(order="name") if r.rel_path == "a16.png")
    (stored,) = predict_images(ws, BrightnessDetector(), [row.id])
    assert stored.detector_input == "window:30000:10000"
    pixels = load_image(ws.absolute_path(row)).pixels
    np.testing.assert_allclose(heatmap(ws, stored), apply_window(pixels, 30000, 10000) / 255, atol=2e-3)


def test_dicom_slices_and_frames_are_seen_through_their_own_window(tmp_path):
    root = write_ct_demo(tmp_path / "ct", slices=3, size=96)
    with Workspace.open(root) as ws:
        scan(ws)
        rows = ws.images(order="name")
        outcomes = list(predict_images(ws, BrightnessDetector(), [r.id for r in rows]))
        assert len(outcomes) == len(rows) == 6 and all(o.detector_input == "file-window" for o in outcomes)
        for row, outcome in zip(rows, outcomes):
            image = load_image(ws.absolute_path(row), row.frame)
            assert image.default_window == (40.0, 80.0)
            np.testing.assert_allclose(
                heatmap(ws, outcome), apply_window(image.pixels, 40, 80) / 255, atol=2e-3
            )
        frames = [o for r, o in zip(rows, outcomes) if r.frame is not None]
        assert len({round(o.score, 6) for o in frames}) == 3  # each frame predicted from its own pixels


def test_damaged_settings_fall_back_and_unchanged_ones_are_no_change(mixed_folder):
    ws = mixed_folder
    ws.set_setting(INPUT_SETTING, {"mode": "no-such-rule"})
    assert input_choice(ws) == InputChoice()
    chosen = WorkspaceInputSettings(InputChoice(PERCENTILE, 1, 99), TilingChoice(tile_size=512, overlap=64))
    assert chosen.apply(ws) is True and WorkspaceInputSettings.of(ws) == chosen
    assert chosen.apply(ws) is False


@pytest.mark.parametrize("tiling", [TilingChoice(tile_size=80, overlap=16), TilingChoice(enabled=False)])
def test_the_sql_key_column_gives_each_image_the_key_its_prediction_gets(mixed_folder, tiling):
    from sqlalchemy import select

    from zsad_desktop.app.workspace.detector_input import WorkspaceInput, set_tiling_choice
    from zsad_desktop.store import Image

    ws = mixed_folder
    cv2.imwrite(str(ws.folder / "d8.png"), np.full((40, 50), 10, np.uint8))  # small: never tiled
    cv2.imwrite(str(ws.folder / "e16.png"), np.full((40, 50), 9000, np.uint16))
    scan(ws)
    set_input_choice(ws, InputChoice(CURRENT_WINDOW))
    ws.set_setting(DISPLAY_WINDOW_SETTING, [100, 50])
    set_tiling_choice(ws, tiling)
    resolved = WorkspaceInput.of(ws, None)
    outcomes = {
        o.image_id: o.detector_input
        for o in predict_images(ws, BrightnessDetector(), [r.id for r in ws.images()])
    }
    with ws.database.read() as session:
        in_sql = dict(session.execute(select(Image.id, resolved.key_column())).all())
    assert in_sql == outcomes and len(set(outcomes.values())) == (4 if tiling.enabled else 2)


def test_the_window_the_viewer_keeps_is_the_current_window(mixed_folder):
    from zsad_desktop.app.viewer.window_level import Window, WindowChoice, remember_window
    from zsad_desktop.app.workspace.detector_input import current_window

    ws = mixed_folder
    ws.set_setting(DISPLAY_WINDOW_SETTING, [100, 50])  # as older versions and scripts store it
    assert current_window(ws) == (100.0, 50.0)
    remember_window(ws, WindowChoice(Window(40, 80), preset="CT brain", kind="hounsfield"))
    assert current_window(ws) == (40.0, 80.0)
    ws.set_setting(DISPLAY_WINDOW_SETTING, [100, -5])  # a damaged setting is no window
    assert current_window(ws) is None


def test_the_gallery_shows_each_image_once_with_the_score_of_the_current_choice(mixed_folder):
    from zsad_desktop.app.exports.reviewed import reviewed_images
    from zsad_desktop.app.review.decisions import record_review
    from zsad_desktop.app.training.model_versions import register_version
    from zsad_desktop.store import ReviewStatus

    ws = mixed_folder
    detector = BrightnessDetector()
    ids = [r.id for r in ws.images()]
    list(predict_images(ws, detector, ids))
    set_input_choice(ws, InputChoice(PERCENTILE, 10.0, 60.0))  # a window off the centre: other scores
    current = {p.image_id: p.score for p in predict_images(ws, detector, ids)}
    assert len(_keys(ws)) == 5  # the 16-bit images have two predictions each

    rows = ws.images(model_id=detector.model_id)
    assert sorted(r.id for r in rows) == sorted(ids)
    assert {r.id: r.score for r in rows} == pytest.approx(current)
    listing = ws.listing(model_id=detector.model_id)
    assert listing.count() == 3 and [r.id for r in listing.first(10)] == [r.id for r in rows]
    a16 = next(r for r in rows if r.rel_path == "a16.png")
    assert ws.image(a16.id, detector.model_id).score == pytest.approx(current[a16.id])
    assert ws.next_unreviewed(detector.model_id).score == pytest.approx(max(current.values()))

    set_input_choice(ws, InputChoice(FILE_WINDOW))  # back: the first predictions' scores again
    assert ws.image(a16.id, detector.model_id).score != pytest.approx(current[a16.id])
    register_version(ws, detector.model_id, "fake", {}, activate=True)
    record_review(ws, a16.id, ReviewStatus.NORMAL)
    assert [(r.rel_path, r.score) for r in reviewed_images(ws)] == [("a16.png", ws.image(a16.id).score)]


def test_a_detector_that_does_not_say_its_input_size_is_looked_up_as_it_was_stored(tmp_path):
    """Predicting and looking up resolve the tiles alike: from the registered version's input size."""
    from zsad_desktop.app.training.model_versions import register_version

    folder = tmp_path / "big"
    folder.mkdir()
    cv2.imwrite(str(folder / "big.png"), np.full((300, 200), 40000, np.uint16))
    with Workspace.open(folder) as ws:
        scan(ws)
        detector = BrightnessDetector()  # no input_size, no backbone
        register_version(ws, detector.model_id, "fake", {"image_size": 64}, activate=True)
        (row,) = ws.images()
        (stored,) = predict_images(ws, detector, [row.id])
        assert stored.detector_input == "file-window|tile:128:16"  # twice the registered input
        assert cached_prediction(ws, row.id, detector.model_id) == stored
        assert ws.image(row.id).score == pytest.approx(stored.score)

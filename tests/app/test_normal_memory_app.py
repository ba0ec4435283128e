"""The normal memory through the app: the reviewer's normals in a workspace, the review session, and `zsad predict`.

The detection-level proof (tests/detection/test_normal_memory.py) fuses maps by hand; these go through the
workspace: images marked NORMAL with `record_review`, the memory synced from the reviews, predictions stored
and read back as the window reads them. Tiny random-weight backbone at 112 px on the shared sample data.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.app.fakes import BrightnessDetector
from tests.conftest import TINY
from zsad_desktop import cli
from zsad_desktop.app.prediction import workspace_predictions
from zsad_desktop.app.prediction.folder_prediction import predict_folder
from zsad_desktop.app.prediction.normal_memory import (
    MemoryDetector,
    load_memory,
    memory_path,
    musc_extractor,
    sync_memory,
)
from zsad_desktop.app.review import decisions
from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.review_session import ReviewSession
from zsad_desktop.app.workspace.detector_input import TilingChoice, set_tiling_choice
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.detection.interface import Detection, create_detector
from zsad_desktop.detection.normal_memory import NormalMemory
from zsad_desktop.evaluation.metrics import pixel_auroc
from zsad_desktop.imaging import read_rgb8
from zsad_desktop.store import ReviewStatus

TINY_ARGS = ["--model-name", TINY, "--pretrained", "random", "--image-size", "112", "--device", "cpu"]
FOLDERS = {"hazelnut": "mvtec_ad/hazelnut", "glass": "glass_anomaly/glass"}
NORMALS = 10  # reviewed normals in the memory; hazelnut has only 7 good images: its 5 train ones
BAD = 8  # defective images held out per category (glass has 80: a sample keeps the test short)
HELD_GOOD = 4  # good images held out, at most


def _category_folder(root: Path, target: Path) -> tuple[list[str], list[str]]:
    """Copy goods (train first) and some defective images into `target`; (normal rel paths, held-out rel paths)."""
    goods = sorted((root / "train" / "good").glob("*.png")) + sorted((root / "test" / "good").glob("*.png"))
    bad = sorted(p for p in (root / "test").glob("*/*.png") if p.parent.name != "good")
    bad = bad[:: max(1, len(bad) // BAD)][:BAD]  # every defect type
    normals = goods[: min(NORMALS, len(goods) - 2)]  # two goods at least stay held out
    goods = normals + goods[len(normals) :][:HELD_GOOD]
    rel = {}
    for p in goods + bad:
        name = f"{p.parent.parent.name}_{p.parent.name}_{p.name}"
        shutil.copy(p, target / name)
        rel[p] = name
    return [rel[p] for p in normals], [rel[p] for p in goods + bad if p not in normals]


def _truth(root: Path, name: str) -> np.ndarray:
    split, kind, file = name.split("_", 2)
    if kind == "good":
        return np.zeros(np.asarray(Image.open(root / split / kind / file)).shape[:2], bool)
    mask = np.asarray(Image.open(root / "ground_truth" / kind / f"{Path(file).stem}_mask.png").convert("L"))
    return mask > 127


@pytest.fixture(scope="module")
def tiny_baseline():
    return create_detector("baseline", model_name=TINY, pretrained="random", image_size=112, device="cpu")


@pytest.mark.parametrize("category", sorted(FOLDERS))
def test_reviewed_normals_raise_pixel_auroc_of_the_workspace_predictions(
    tmp_path, shared_data, tiny_baseline, category
):
    root = shared_data / FOLDERS[category]
    folder = tmp_path / category
    folder.mkdir()
    normals, held = _category_folder(root, folder)
    workspace = Workspace.open(folder)
    try:
        # 256 px images are above the tiny model's tile size (224): whole images, as the memory's normals
        set_tiling_choice(workspace, TilingChoice(False))
        scan(workspace)
        ids = {row.rel_path: row.id for row in workspace.images(order="name")}
        for name in normals:
            decisions.record_review(workspace, ids[name], ReviewStatus.NORMAL)
        extractor = musc_extractor(tiny_baseline)
        memory = NormalMemory()
        added, removed = sync_memory(workspace, tiny_baseline, extractor, memory)
        assert added == len(normals) == len(memory) and removed == []
        with_memory = MemoryDetector(tiny_baseline, memory, extractor)
        assert with_memory.model_id == f"{tiny_baseline.model_id}+normals:{len(normals)}:{memory.version}"

        held_ids = [ids[name] for name in held]
        truth = [_truth(root, name) for name in held]

        def maps(detector):
            rows = list(workspace_predictions.predict_images(workspace, detector, held_ids))
            assert all(row.model_version == detector.model_id for row in rows)
            by_id = {row.image_id: workspace_predictions.heatmap(workspace, row) for row in rows}
            return [by_id[i] for i in held_ids]

        without, fused = pixel_auroc(truth, maps(tiny_baseline)), pixel_auroc(truth, maps(with_memory))
        assert fused > without, (
            f"{category}: a memory of {len(normals)} reviewed normals lowers pixel AUROC by {without - fused:.4f} "
            f"({without:.4f} -> {fused:.4f})"
        )
        print(f"{category}: pixel AUROC {without:.4f} -> {fused:.4f} with {len(normals)} reviewed normals")
    finally:
        workspace.close()


def test_marking_an_image_normal_grows_the_memory_and_tags_the_next_predictions(workspace):
    settings = DetectorSettings(
        method="baseline", model_name=TINY, pretrained="random", image_size=112, device="cpu", first_look=0
    )
    session = ReviewSession(workspace, settings)
    try:
        base = session.detector()
        path = memory_path(workspace, base.model_id)
        rows = workspace.images(order="name")
        first, second, other = rows[0].id, rows[1].id, rows[-1].id
        assert not path.exists()

        session.decide(first, ReviewStatus.NORMAL)
        assert session.queue.wait_idle(60)
        assert len(load_memory(path)) == 1
        tag = "+normals:1:1"
        assert (
            workspace.active_model_id() == base.model_id + tag
        )  # the gallery and viewer show memory predictions
        seen = []
        session.predict([other], 0, seen.append, lambda error: seen.append(error)).wait(60)
        assert [type(o).__name__ for o in seen] == ["PredictionRow"] and seen[0].model_version.endswith(tag)
        # the folder was predicted again with the memory in the background (the reviewed image too, after
        # the unreviewed ones: the gallery shows the active version's scores)
        assert workspace.ids_to_predict(workspace.active_model_id()) == []

        session.decide(second, ReviewStatus.NORMAL)  # 2 normals: twice the snapshot's 1, a refresh
        assert session.queue.wait_idle(60)
        assert load_memory(path).image_ids() == sorted({rows[0].content_hash, rows[1].content_hash})
        assert workspace.active_model_id().endswith("+normals:2:2")

        session.decide(first, ReviewStatus.REJECTED)  # a correction: at once, without it
        session.decide(second, ReviewStatus.SKIPPED)
        assert session.queue.wait_idle(60)
        assert len(load_memory(path)) == 0
        assert workspace.active_model_id() == base.model_id and session.detector() is base
    finally:
        session.queue.shutdown()


def test_zsad_predict_method_musc_scores_the_folder(tmp_path, shared_data):
    folder = shared_data / "mvtec_ad" / "hazelnut" / "test"
    out = tmp_path / "out"
    assert cli.main(["predict", str(folder), "--out", str(out), "--method", "musc", *TINY_ARGS]) == 0
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert len(rows) == 10 and all(
        r["model"].startswith("musc:") and 0 <= float(r["score"]) <= 1 for r in rows
    )
    assert (out / "crack" / "000_heatmap.png").is_file() and (out / "crack" / "000_raw16.png").is_file()
    # its maps as written (raw16) beat the zero-shot baseline's pixel AUROC on the same images
    paths = [folder / r["path"] for r in rows]
    truth = [_truth(folder.parent, f"test_{p.parent.name}_{p.name}") for p in paths]
    musc = [
        cv2.imread(str(out / p.parent.name / f"{p.stem}_raw16.png"), cv2.IMREAD_UNCHANGED) / 65535.0
        for p in paths
    ]
    baseline = create_detector("baseline", model_name=TINY, pretrained="random", image_size=112, device="cpu")
    zero_shot = [d.heatmap for d in baseline.predict([read_rgb8(p) for p in paths])]
    with_musc, without = pixel_auroc(truth, musc), pixel_auroc(truth, zero_shot)
    assert with_musc > without, (
        f"musc's pixel AUROC is below the baseline's by {without - with_musc:.4f} ({without:.4f} vs {with_musc:.4f})"
    )
    (out / "scores.csv").write_text(
        "".join((out / "scores.csv").read_text().splitlines(True)[:-1])
    )  # one row lost
    assert cli.main(["predict", str(folder), "--out", str(out), "--method", "musc", *TINY_ARGS]) == 0
    again = list(csv.DictReader((out / "scores.csv").open()))
    assert len(again) == 10 and again[-1] == rows[-1]  # scored against the whole folder again: the same score


def test_zsad_predict_with_normals_tags_every_row(tmp_path, shared_data):
    root = shared_data / "mvtec_ad" / "hazelnut"
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "predict",
                str(root / "test"),
                "--out",
                str(out),
                "--normals",
                str(root / "train" / "good"),
                "--no-tiling",
                *TINY_ARGS,
            ]
        )
        == 0
    )
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert len(rows) == 10 and all(r["model"].endswith("+normals:5:5") for r in rows)
    good = [float(r["score"]) for r in rows if r["path"].startswith("good/")]
    bad = [float(r["score"]) for r in rows if not r["path"].startswith("good/")]
    assert max(good) < 0.9 and np.median(bad) > max(good), f"good {good} vs defects {bad}"
    assert (
        cli.main(
            [
                "predict",
                str(root / "test"),
                "--out",
                str(tmp_path / "m"),
                "--method",
                "musc",
                "--normals",
                str(root / "train" / "good"),
                *TINY_ARGS,
            ]
        )
        == 2
    )


def test_a_session_with_the_memory_turned_off_keeps_the_plain_detector(workspace):
    settings = DetectorSettings(
        method="baseline",
        model_name=TINY,
        pretrained="random",
        image_size=112,
        device="cpu",
        first_look=0,
        normal_memory=False,
    )
    session = ReviewSession(workspace, settings)
    try:
        base = session.detector()
        session.decide(workspace.images(order="name")[0].id, ReviewStatus.NORMAL)
        assert session.queue.wait_idle(60)
        assert not memory_path(workspace, base.model_id).exists()
        assert session.detector() is base and workspace.active_model_id() == base.model_id
    finally:
        session.queue.shutdown()


class FolderLevelFake(BrightnessDetector):
    """A stand-in for a folder-level method: each image's score is its brightness minus the folder's mean."""

    def __init__(self):
        super().__init__("folder")
        self.folders: list[int] = []

    def score_folder(self, images, progress=None, cancel=None):
        pixels = [images[i] for i in range(len(images))]
        self.folders.append(len(pixels))
        if progress is not None:
            progress(len(pixels), len(pixels))
        mean = float(np.mean([p.mean() for p in pixels])) / 255
        return [Detection(float(d.score - mean + 0.5), d.heatmap, d.model_id) for d in self.predict(pixels)]


def test_a_folder_level_method_scores_the_whole_folder_and_a_rerun_writes_only_the_missing_rows(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, level in enumerate((20, 60, 100, 140)):
        Image.fromarray(np.full((40, 50, 3), level, np.uint8)).save(folder / f"img{i}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    detector, progress = FolderLevelFake(), []
    result = predict_folder(
        detector, folder, tmp_path / "out", progress=lambda done, total: progress.append((done, total))
    )
    assert detector.folders == [4] and progress[-1] == (4, 4)
    assert len(result.scored) == 4 and len(result.failed) == 1
    rows = {r["path"]: r for r in csv.DictReader((tmp_path / "out" / "scores.csv").open()) if r["score"]}
    assert float(rows["img3.png"]["score"]) > float(rows["img0.png"]["score"])
    assert (tmp_path / "out" / "img2_raw16.png").is_file()
    lines = (tmp_path / "out" / "scores.csv").read_text().splitlines(True)
    (tmp_path / "out" / "scores.csv").write_text(
        "".join(line for line in lines if not line.startswith("img1.png"))
    )
    again = predict_folder(detector, folder, tmp_path / "out")
    assert detector.folders == [4, 4]  # scored against the whole folder again
    assert [s.path.name for s, _ in again.scored] == ["img1.png"] and again.already_done == 3
    rerow = {r["path"]: r for r in csv.DictReader((tmp_path / "out" / "scores.csv").open()) if r["score"]}
    assert rerow["img1.png"]["score"] == rows["img1.png"]["score"]

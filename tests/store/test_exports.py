import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from zsad_desktop.app.exports import export_coco, export_mvtec, export_report, inside, safe_name
from zsad_desktop.app.reviews import record_review
from zsad_desktop.evaluation import load_mask, read_dataset
from zsad_desktop.imaging.masks import read_mask
from zsad_desktop.store import ReviewStatus
from zsad_desktop.store.errors import StoreError


def _review_with_ground_truth(workspace, shared_data):
    """Review every image with its real ground-truth mask (or normal)."""
    truth_root = shared_data / "mvtec_ad" / "hazelnut" / "ground_truth"
    expected = {}
    for row in workspace.images(order="name"):
        defect, name = row.rel_path.split("/")
        if defect == "good":
            record_review(workspace, row.id, ReviewStatus.NORMAL, reviewer="qa")
            expected[row.rel_path] = None
        else:
            mask = read_mask(truth_root / defect / name.replace(".png", "_mask.png"))
            record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=mask, proposal=mask, reviewer="qa")
            expected[row.rel_path] = mask
    return expected


def test_mvtec_export_reimports_pixel_for_pixel(workspace, shared_data, tmp_path):
    expected = _review_with_ground_truth(workspace, shared_data)
    report = export_mvtec(workspace, tmp_path / "export", category="hazelnut")
    assert report.anomalous == sum(m is not None for m in expected.values())
    samples = read_dataset(tmp_path / "export", layout="mvtec")["hazelnut"]
    assert len(samples) == len(expected)
    for sample in samples:
        original = sample.image_path.stem.replace("__", "/") + ".png"
        truth = expected[original]
        got = load_mask(sample, (256, 256))
        np.testing.assert_array_equal(got, truth if truth is not None else np.zeros((256, 256), bool))
    assert (report.folder / "anomalib_folder.yaml").read_text().count("abnormal_dir: test/anomaly") == 1


def test_coco_export_has_one_instance_per_region(workspace, tmp_path):
    row = workspace.images(order="name")[0]
    mask = np.zeros((256, 256), bool)
    mask[10:20, 10:20] = True
    mask[100:130, 50:60] = True
    record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=mask)
    data = export_coco(workspace, tmp_path / "coco.json")
    anns = [a for a in data["annotations"] if a["image_id"] == row.id]
    assert sorted(a["area"] for a in anns) == [100.0, 300.0]
    decoded = sum(coco_mask.decode({**a["segmentation"], "counts": a["segmentation"]["counts"].encode()}) for a in anns)
    np.testing.assert_array_equal(decoded.astype(bool), mask)
    assert json.loads((tmp_path / "coco.json").read_text())["categories"][0]["name"] == "anomaly"


def test_report_lists_every_image_with_defect_area(workspace, tmp_path):
    row = workspace.images(order="name")[0]
    mask = np.zeros((256, 256), bool)
    mask[:4, :5] = True
    record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=mask, reviewer="qa", model_version="m1")
    count = export_report(workspace, tmp_path / "report.json")
    rows = json.loads((tmp_path / "report.json").read_text())
    assert count == len(rows) == len(workspace.images())
    mine = next(r for r in rows if r["path"] == row.rel_path)
    assert mine["defect_area"] == 20 and mine["status"] == "corrected" and mine["model_version"] == "m1"
    export_report(workspace, tmp_path / "report.csv")
    assert (tmp_path / "report.csv").read_text().splitlines()[0].startswith("path,score,status")


def test_export_names_cannot_escape_the_target(tmp_path):
    assert "/" not in safe_name("../../etc/passwd") and not safe_name("../../x").startswith(".")
    with pytest.raises(StoreError, match="outside the export folder"):
        inside(tmp_path / "out", tmp_path / "out" / ".." / "elsewhere.png")

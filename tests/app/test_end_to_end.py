"""The whole loop on the real hazelnut images: scan, predict, review, export, re-import, compare."""

import json

import numpy as np
import pytest

from tests.app.fakes import BrightnessDetector
from zsad_desktop.app.exports import export_coco, export_mvtec, export_report
from zsad_desktop.app.prediction.workspace_predictions import cached_prediction, heatmap, predict_images
from zsad_desktop.app.review.decisions import history, proposal_mask, record_review
from zsad_desktop.app.training import model_versions
from zsad_desktop.evaluation import load_mask, read_dataset
from zsad_desktop.imaging.masks import read_mask
from zsad_desktop.store import ReviewStatus

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


def _review_like_a_reviewer(workspace, truth_root, detector):
    """Good images normal; one defect's proposal accepted as is; the others corrected to the ground truth;
    one image rejected and one skipped (neither is exported). Returns {rel_path: expected mask or None}."""
    expected, decided = {}, []
    rows = workspace.images(order="name")
    for index, row in enumerate(rows):
        proposal = heatmap(workspace, cached_prediction(workspace, row.id, detector.model_id)) > 0.6
        defect, name = row.rel_path.split("/")
        if defect == "good":
            status, mask = ReviewStatus.NORMAL, None
        elif row.rel_path == "crack/000.png":
            status, mask = ReviewStatus.ACCEPTED, proposal
        elif row.rel_path == "cut/001.png":
            status, mask = ReviewStatus.REJECTED, None
        elif row.rel_path == "hole/001.png":
            status, mask = ReviewStatus.SKIPPED, None
        else:
            status, mask = (
                ReviewStatus.CORRECTED,
                read_mask(truth_root / defect / name.replace(".png", "_mask.png")),
            )
        record_review(
            workspace,
            row.id,
            status,
            mask=mask,
            proposal=proposal,
            reviewer="qa",
            model_version=detector.model_id,
            note=f"review {index}",
        )
        if status not in (ReviewStatus.REJECTED, ReviewStatus.SKIPPED):
            expected[row.rel_path] = mask if mask is not None and mask.any() else None
        decided.append((row, proposal))
    return expected, decided


def test_scan_predict_review_export_reimport(workspace, shared_data, tmp_path):
    truth_root = shared_data / "mvtec_ad" / "hazelnut" / "ground_truth"
    detector = BrightnessDetector()
    model_versions.register_version(workspace, detector.model_id, "test-brightness", {}, activate=True)
    rows = workspace.images(order="name")
    assert len(rows) == 10
    assert len(list(predict_images(workspace, detector, [r.id for r in rows]))) == 10
    expected, decided = _review_like_a_reviewer(workspace, truth_root, detector)
    for row, proposal in decided:  # the model's original is kept beside the final mask
        np.testing.assert_array_equal(proposal_mask(workspace, row.id), proposal)
        assert history(workspace, row.id)[-1].model_version == detector.model_id

    report = export_mvtec(workspace, tmp_path / "export", category="hazelnut")
    assert (report.normal, report.anomalous) == (2, 6) and not report.skipped
    samples = read_dataset(tmp_path / "export", layout="mvtec")["hazelnut"]
    assert len(samples) == len(expected) == 8
    for sample in samples:
        source = sample.image_path.stem.replace("__", "/") + ".png"
        assert sample.image_path.read_bytes() == (workspace.folder / source).read_bytes()
        truth = expected[source]
        assert sample.label == int(truth is not None)
        got = load_mask(sample, (256, 256))
        np.testing.assert_array_equal(got, truth if truth is not None else np.zeros((256, 256), bool))

    coco = export_coco(workspace, tmp_path / "coco.json")
    from pycocotools import mask as coco_mask

    by_path = {image["file_name"]: image["id"] for image in coco["images"]}
    assert set(by_path) == set(expected)
    for rel_path, truth in expected.items():
        regions = [a for a in coco["annotations"] if a["image_id"] == by_path[rel_path]]
        union = np.zeros((256, 256), bool)
        for annotation in regions:
            rle = {**annotation["segmentation"], "counts": annotation["segmentation"]["counts"].encode()}
            union |= coco_mask.decode(rle).astype(bool)
        np.testing.assert_array_equal(union, truth if truth is not None else np.zeros((256, 256), bool))

    assert export_report(workspace, tmp_path / "report.json") == 10
    lines = {line["path"]: line for line in json.loads((tmp_path / "report.json").read_text())}
    assert lines["cut/001.png"]["status"] == "rejected" and lines["good/000.png"]["defect_area"] == 0
    assert lines["print/000.png"]["defect_area"] == int(expected["print/000.png"].sum())
    assert (
        lines["print/000.png"]["model_version"] == detector.model_id and lines["print/000.png"]["score"] > 0
    )


def test_export_config_trains_anomalib_folder_datamodule(workspace, tmp_path):
    yaml = pytest.importorskip("yaml")
    rows = workspace.images(order="name")
    mask = np.zeros((256, 256), bool)
    mask[100:120, 100:140] = True
    record_review(workspace, rows[0].id, ReviewStatus.CORRECTED, mask=mask)
    record_review(workspace, rows[5].id, ReviewStatus.NORMAL)
    report = export_mvtec(workspace, tmp_path / "out", category="nuts")
    config = yaml.safe_load((report.folder / "anomalib_folder.yaml").read_text())
    assert config == json.loads((report.folder / "anomalib_folder.json").read_text())
    args = config["data"]["init_args"]
    assert config["data"]["class_path"] == "anomalib.data.Folder" and args["name"] == "nuts"
    root = report.folder
    assert args["root"] == str(root)
    assert len(list((root / args["normal_dir"]).glob("*.png"))) == 1
    abnormal = list((root / args["abnormal_dir"]).glob("*.png"))
    masks = list((root / args["mask_dir"]).glob("*.png"))
    assert len(abnormal) == len(masks) == 1 and masks[0].name == abnormal[0].stem + "_mask.png"

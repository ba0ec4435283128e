import csv
import json
import threading

import cv2
import numpy as np
import pytest
import tifffile
from pycocotools import mask as coco_mask

from zsad_desktop.app.exports import (
    UniqueNames,
    export_coco,
    export_mvtec,
    export_report,
    inside,
    region_annotations,
    safe_name,
)
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Image, ReviewStatus
from zsad_desktop.store.errors import StoreError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


def _files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "..",
        ".",
        "",
        "/abs/path.png",
        "a/../../b.png",
        "C:\\Windows\\system32\\x.png",
        ".hidden.png",
        "con.png",
        "a b/c:d*e?.png",
        "ünïcødé/名前.png",
        "x" * 400 + ".png",
        "-rf.png",
    ],
)
def test_safe_names_are_flat_visible_and_portable(hostile):
    name = safe_name(hostile)
    assert name and "/" not in name and "\\" not in name and ":" not in name and ".." not in name.split("__")
    assert not name.startswith((".", "-")) and len(name) <= 150 and name.lower() != "con"
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)


def test_names_that_sanitise_alike_stay_distinct():
    names = UniqueNames()
    assert [names("a/b.png"), names("a__b.png"), names("A/B.png"), names("a?b.png")] == [
        "a__b",
        "a__b_2",
        "A__B_3",
        "a_b",
    ]
    long = "x" * 300
    assert safe_name(long + "1.png") != safe_name(long + "2.png")


def test_writing_outside_the_target_is_refused(tmp_path):
    with pytest.raises(StoreError, match="outside the export folder"):
        inside(tmp_path / "out", tmp_path / "out" / ".." / "elsewhere.png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(StoreError, match="outside the export folder"):
        inside(tmp_path / "out", tmp_path / "out" / "link" / "x.png")


def test_a_crafted_path_in_the_database_cannot_escape_the_export(workspace, tmp_path):
    """A shared database may hold any path; the export folder is all that is written."""
    outside = workspace.folder.parent / "outside"
    outside.mkdir()
    source = workspace.folder / workspace.images(order="name")[0].rel_path
    (outside / "evil.png").write_bytes(source.read_bytes())
    with workspace.database.session() as session:
        session.add(
            Image(
                rel_path="../outside/evil.png",
                content_hash="f" * 40,
                size_bytes=1,
                mtime_ns=1,
                width=256,
                height=256,
            )
        )
    evil = next(r for r in workspace.images() if r.rel_path == "../outside/evil.png")
    record_review(workspace, evil.id, ReviewStatus.CORRECTED, mask=np.ones((256, 256), bool))
    workspace.database.backups.wait()  # the day's copy of the database is not the export's doing
    before = _files_under(tmp_path)
    report = export_mvtec(workspace, tmp_path / "export", category="../../escape")
    assert report.folder == (tmp_path / "export" / "escape").resolve()
    assert "outside__evil.png" in {p.name for p in report.folder.rglob("*.png")}
    new = set(_files_under(tmp_path)) - set(before)
    assert new and all(path.startswith("export/escape/") for path in new)


def test_reexport_replaces_the_earlier_export_and_leaves_no_stale_files(workspace, tmp_path):
    row = workspace.images(order="name")[0]
    mask = np.zeros((256, 256), bool)
    mask[:8, :8] = True
    record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=mask)
    first = export_mvtec(workspace, tmp_path / "out", category="c")
    assert first.anomalous == 1 and any((first.folder / "ground_truth" / "anomaly").iterdir())
    record_review(workspace, row.id, ReviewStatus.NORMAL)  # on second thought: no defect
    second = export_mvtec(workspace, tmp_path / "out", category="c")
    assert (second.normal, second.anomalous) == (1, 0)
    assert not any((second.folder / "ground_truth" / "anomaly").iterdir())
    assert not any((second.folder / "test" / "anomaly").iterdir())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["c"]  # no staging or old folders left


def test_a_folder_that_is_not_an_export_is_never_replaced(workspace, tmp_path):
    precious = tmp_path / "out" / "reviewed"
    precious.mkdir(parents=True)
    (precious / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(StoreError, match="not an earlier export"):
        export_mvtec(workspace, tmp_path / "out")
    assert (precious / "thesis.docx").read_bytes() == b"years of work"
    with pytest.raises(StoreError, match="cannot be 'good'"):
        export_mvtec(workspace, tmp_path / "x", label="good")


def test_cancelled_export_leaves_nothing(workspace, tmp_path):
    for row in workspace.images(order="name")[:3]:
        record_review(workspace, row.id, ReviewStatus.NORMAL)
    cancel = threading.Event()
    report = export_mvtec(
        workspace, tmp_path / "out", progress=lambda done, total: cancel.set(), cancel=cancel
    )
    assert report.cancelled and list((tmp_path / "out").iterdir()) == []


def test_other_formats_become_png_with_their_bit_depth(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    grey16 = np.arange(40 * 30, dtype=np.uint16).reshape(40, 30) * 50
    tifffile.imwrite(folder / "scan.tif", grey16)
    colour = np.zeros((20, 24, 3), np.uint8)
    colour[..., 2] = 200  # red in OpenCV's BGR
    cv2.imwrite(str(folder / "photo.bmp"), colour)
    with Workspace.open(folder) as ws:
        scan(ws)
        for row in ws.images():
            record_review(ws, row.id, ReviewStatus.NORMAL)
        report = export_mvtec(ws, tmp_path / "out")
    good = report.folder / "test" / "good"
    np.testing.assert_array_equal(cv2.imread(str(good / "scan.png"), cv2.IMREAD_UNCHANGED), grey16)
    np.testing.assert_array_equal(cv2.imread(str(good / "photo.png")), colour)


def test_coco_has_one_rle_instance_per_connected_region(workspace, tmp_path):
    mask = np.zeros((256, 256), bool)
    mask[10:20, 10:20] = True
    mask[100:130, 50:60] = True
    mask[20, 20] = True  # touches the first square at a corner: the same region (8-connected)
    annotations = region_annotations(mask, image_id=7, first_id=1)
    assert sorted(a["area"] for a in annotations) == [101.0, 300.0]
    assert {tuple(a["bbox"]) for a in annotations} == {(10.0, 10.0, 11.0, 11.0), (50.0, 100.0, 10.0, 30.0)}
    row = workspace.images(order="name")[0]
    record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=mask)
    record_review(workspace, workspace.images(order="name")[1].id, ReviewStatus.NORMAL)
    data = export_coco(workspace, tmp_path / "sub" / "coco.json")
    assert json.loads((tmp_path / "sub" / "coco.json").read_text()) == data
    assert len(data["images"]) == 2 and [a["id"] for a in data["annotations"]] == [1, 2]
    decoded = [
        coco_mask.decode({**a["segmentation"], "counts": a["segmentation"]["counts"].encode()})
        for a in data["annotations"]
    ]
    np.testing.assert_array_equal(np.sum(decoded, axis=0).astype(bool), mask)
    assert data["categories"] == [{"id": 1, "name": "anomaly", "supercategory": "defect"}]


def test_report_lists_every_image_with_its_decision(workspace, tmp_path):
    rows = workspace.images(order="name")
    mask = np.zeros((256, 256), bool)
    mask[:4, :5] = True
    record_review(
        workspace,
        rows[0].id,
        ReviewStatus.CORRECTED,
        mask=mask,
        reviewer="qa",
        model_version="m1",
        note='a, "b"',
    )
    assert export_report(workspace, tmp_path / "report.csv") == len(rows)
    with open(tmp_path / "report.csv", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [line["path"] for line in lines] == [r.rel_path for r in rows]
    assert lines[0] | {"updated_at": ""} == {
        "path": rows[0].rel_path,
        "score": "",
        "status": "corrected",
        "reviewer": "qa",
        "model_version": "m1",
        "defect_area": "20",
        "note": 'a, "b"',
        "updated_at": "",
    }
    assert lines[1]["status"] == "unreviewed" and lines[1]["defect_area"] == "0"
    export_report(workspace, tmp_path / "report.json")
    assert json.loads((tmp_path / "report.json").read_text())[0]["defect_area"] == 20


def test_cancelled_coco_and_report_write_nothing(workspace, tmp_path):
    record_review(workspace, workspace.images(order="name")[0].id, ReviewStatus.NORMAL)
    cancel = threading.Event()
    cancel.set()
    assert export_coco(workspace, tmp_path / "coco.json", cancel=cancel) is None
    assert export_report(workspace, tmp_path / "report.csv", cancel=cancel) is None
    assert not (tmp_path / "coco.json").exists() and not (tmp_path / "report.csv").exists()
    seen = []
    export_coco(workspace, tmp_path / "coco.json", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 1)]

"""A file name that is not UTF-8 (b'bad\\xffname.png') through scan, review, the gallery's labels and every export."""

import csv
import json
import os
import shutil
import sqlite3

import numpy as np
import pytest

from zsad_desktop.app.exports import export_coco, export_mvtec, export_report
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.imaging import load_image
from zsad_desktop.store import ReviewStatus

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")

BAD = os.fsdecode(b"sub\xe9/bad\xffname.png")  # folder and file name, neither UTF-8
SHOWN = "sub\ufffdE9/bad\ufffdFFname.png"


@pytest.fixture
def odd_workspace(tmp_path, shared_data):
    folder = tmp_path / "odd"
    (folder / os.path.dirname(BAD)).mkdir(parents=True)
    source = shared_data / "mvtec_ad" / "hazelnut" / "test"
    shutil.copy(source / "crack" / "000.png", folder / BAD)
    shutil.copy(source / "good" / "000.png", folder / "good.png")
    ws = Workspace.open(folder)
    yield ws
    ws.close()


def test_the_scan_stores_the_name_losslessly_and_the_window_shows_it_readably(odd_workspace):
    report = scan(odd_workspace)
    assert report.added == 2 and not report.unreadable
    row = next(r for r in odd_workspace.images(order="name") if r.rel_path != "good.png")
    assert row.rel_path == BAD and row.load_error is None
    assert load_image(odd_workspace.folder / row.rel_path).pixels.shape[:2] == (row.height, row.width)
    assert row.title == SHOWN and row.gallery_name == SHOWN
    with sqlite3.connect(
        odd_workspace.database.url.removeprefix("sqlite:///")
    ) as raw:  # what another program reading the file sees
        assert SHOWN in {path for (path,) in raw.execute("select rel_path from images")}
    assert scan(odd_workspace).unchanged == 2  # the stored key matches the file again


def test_every_export_writes_the_name_as_utf8_text(odd_workspace, tmp_path):
    scan(odd_workspace)
    for row in odd_workspace.images(order="name"):
        mask = np.zeros((row.height, row.width), bool)
        mask[10:40, 10:40] = row.rel_path == BAD
        record_review(
            odd_workspace,
            row.id,
            ReviewStatus.CORRECTED if row.rel_path == BAD else ReviewStatus.NORMAL,
            mask=mask if row.rel_path == BAD else None,
        )
    assert export_report(odd_workspace, tmp_path / "report.csv") == 2
    assert export_report(odd_workspace, tmp_path / "report.json") == 2
    assert export_coco(odd_workspace, tmp_path / "coco.json") is not None
    export_mvtec(odd_workspace, tmp_path / "mvtec")

    with open(tmp_path / "report.csv", encoding="utf-8", newline="") as handle:
        assert SHOWN in {row["path"] for row in csv.DictReader(handle)}
    assert SHOWN in {
        row["path"] for row in json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    }
    coco = json.loads((tmp_path / "coco.json").read_text(encoding="utf-8"))
    assert SHOWN in {image["file_name"] for image in coco["images"]}
    for path in [
        tmp_path / "report.csv",
        tmp_path / "report.json",
        tmp_path / "coco.json",
        *(p for p in (tmp_path / "mvtec").rglob("*") if p.suffix in (".json", ".yaml", ".csv", ".txt")),
    ]:
        path.read_bytes().decode("utf-8")  # strictly: no surrogates, no stray bytes

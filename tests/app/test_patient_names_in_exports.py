"""No export of DICOM images names the patient: not a file name, a path, a field nor a message.

The workspace is a folder named after the patient (DOE^JOHN/Doe_John/...), as careless PACS exports
are, with files named after them too. Every byte written under the export target, in every layout,
and every line the export prints, is searched for the name. The one place it stays is the DICOM SEG's
patient module: a SEG belongs to its source's patient and study by DICOM design (PACS files it there),
so it copies the source's Patient Name; that is checked, then blanked, and the rest of the SEG searched.
"""

import io

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.imaging.dicom_files import write_dicom
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.cli import main
from zsad_desktop.demo.ct import write_ct_demo
from zsad_desktop.store import ReviewStatus

PATIENT = "DOE^JOHN"
#: the name as written in DICOM, in a folder name, and as an export would make it safe
SPELLINGS = ("doe^john", "doe_john", "john^doe", "john_doe", "doe john", "doe, john")


def _name_patient(path):
    ds = pydicom.dcmread(path)
    ds.PatientName = PATIENT
    ds.save_as(path)


@pytest.fixture
def patient_workspace(tmp_path):
    """The CT demo (a series and a multi-frame volume) under DOE^JOHN/Doe_John, plus a file named after
    the patient; every file's Patient Name is DOE^JOHN. Defects, frames and normal images reviewed."""
    folder = tmp_path / PATIENT
    demo = write_ct_demo(folder / "Doe_John", slices=6, size=48, bleeding=2)
    for path in [*(demo / "series").iterdir(), demo / "multiframe" / "volume.dcm"]:
        _name_patient(path)
    rng = np.random.default_rng(1)
    write_dicom(
        demo / "Doe_John_scout.dcm",
        rng.integers(0, 4000, (24, 32)).astype(np.uint16),
        StudyInstanceUID=generate_uid(),
        SeriesInstanceUID=generate_uid(),
        PatientName=PATIENT,
    )
    ws = Workspace.open(folder)
    scan(ws)
    rows = ws.images()
    assert any(r.frame is not None for r in rows) and all("Doe_John" in r.rel_path for r in rows)
    for index, row in enumerate(rows):
        mask = np.zeros((row.height, row.width), bool)
        if index % 2 == 0:
            mask[5:12, 6:20] = True
            record_review(ws, row.id, ReviewStatus.CORRECTED, mask=mask)
        else:
            record_review(ws, row.id, ReviewStatus.NORMAL)
    ws.close()
    return folder


def _export(folder, capsys, *args) -> str:
    assert main(["export", str(folder), *args]) == 0
    printed = capsys.readouterr()
    return printed.out + printed.err


def _without_patient_name(seg_path) -> bytes:
    """The SEG's bytes with its copied Patient Name blanked (checked to be the source's first)."""
    seg = pydicom.dcmread(seg_path)
    assert (
        seg.Modality == "SEG" and str(seg.PatientName) == PATIENT
    )  # kept by design: PACS files it with the study
    seg.PatientName = ""
    out = io.BytesIO()
    seg.save_as(out)
    return out.getvalue()


def _named_in(text: str) -> list[str]:
    lowered = text.lower()
    return [name for name in SPELLINGS if name in lowered]


def test_no_export_layout_names_the_patient(patient_workspace, tmp_path, capsys):
    target = tmp_path / "exports"  # the user's choice of target: it does not name the patient
    messages = [
        _export(
            patient_workspace, capsys, "--format", "mvtec", "--out", str(target / "mvtec"), "--dicom-seg"
        ),
        _export(patient_workspace, capsys, "--format", "coco", "--out", str(target / "coco.json")),
        _export(patient_workspace, capsys, "--format", "report", "--out", str(target / "report.csv")),
        _export(patient_workspace, capsys, "--format", "report", "--out", str(target / "report.json")),
    ]
    files = sorted(p for p in target.rglob("*") if p.is_file())
    segs = [p for p in files if p.parent.name == "dicom_seg"]
    assert segs and (target / "coco.json") in files and (target / "report.csv") in files
    assert any(p.name.endswith("_mask.png") for p in files)
    found = {}
    for path in files:
        data = _without_patient_name(path) if path in segs else path.read_bytes()
        names = _named_in(data.decode("latin-1") + " " + path.relative_to(target).as_posix())
        if names:
            found[path.relative_to(target).as_posix()] = names
    assert found == {}
    assert [_named_in(m) for m in messages] == [[], [], [], []], messages

"""File > Export reviewed masks…: the dialog exports in the background and says what it wrote."""

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from tests.imaging.dicom_files import write_dicom
from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.store import ReviewStatus


def _dicom_folder(tmp_path):
    folder = tmp_path / "Doe_Jane"
    folder.mkdir()
    study = dict(StudyInstanceUID=generate_uid(), SeriesInstanceUID=generate_uid(), PatientName="Doe^Jane")
    values = np.arange(24 * 32, dtype=np.uint16).reshape(24, 32) * 5
    write_dicom(folder / "Doe_Jane_1.dcm", values, window=(2000, 4000), **study)
    write_dicom(folder / "Doe_Jane_2.dcm", values[::-1], window=(2000, 4000), **study)
    return folder


def test_the_export_dialog_writes_pngs_and_dicom_seg_in_the_background(
    qtbot, open_window, tiny_prefs, tmp_path
):
    folder = _dicom_folder(tmp_path)
    window = open_window(tiny_prefs, folder)
    assert window.export_action in window.menus["File"].actions()
    assert window.export_action.shortcut().toString() == "Ctrl+E"
    workspace = window.session.workspace
    first, second = sorted(workspace.images(), key=lambda r: r.rel_path)
    mask = np.zeros((24, 32), bool)
    mask[4:9, 6:20] = True
    record_review(workspace, first.id, ReviewStatus.CORRECTED, mask=mask)
    record_review(workspace, second.id, ReviewStatus.NORMAL)

    window.export_action.trigger()
    dialog = window.export_dialog
    qtbot.waitExposed(dialog)
    dialog.target.setText(str(tmp_path / "out"))
    dialog.dicom_seg.setChecked(True)
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=60_000)
    assert "1 normal and 1 anomalous" in dialog.summary.text() and "1 DICOM SEG" in dialog.summary.text()

    uid = str(pydicom.dcmread(folder / "Doe_Jane_1.dcm", stop_before_pixels=True).SOPInstanceUID)
    exported = tmp_path / "out" / "reviewed"
    assert (exported / "ground_truth" / "anomaly" / f"{uid}_mask.png").is_file()
    seg = pydicom.dcmread(exported / "dicom_seg" / f"{uid}_seg.dcm")
    assert seg.Modality == "SEG" and int(seg.pixel_array.astype(bool).sum()) == int(mask.sum())
    assert not any("Doe" in p.name for p in exported.rglob("*"))

    # a folder that is not an earlier export is refused: a message in the dialog, nothing replaced
    precious = tmp_path / "mine" / "reviewed"
    precious.mkdir(parents=True)
    (precious / "notes.txt").write_text("keep")
    dialog.target.setText(str(tmp_path / "mine"))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.job is None and "failed" in dialog.summary.text(), timeout=60_000)
    assert "not an earlier export" in dialog.summary.text() and "Traceback" not in dialog.summary.text()
    assert (precious / "notes.txt").read_text() == "keep"
    dialog.close()

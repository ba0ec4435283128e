"""The generated CT demo: a DICOM series and its multi-frame copy open as a workspace, bleeds where the masks say."""

import numpy as np

from zsad_desktop import cli
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.imaging import load_image, read_mask


def test_ct_demo_is_a_dicom_series_with_bleeds_where_the_masks_are(tmp_path, capsys):
    assert cli.main(["demo", str(tmp_path / "ct"), "--kind", "ct"]) == 0
    root = tmp_path / "ct"
    masks = sorted((root / "ground_truth").glob("*_mask.png"))
    assert len(masks) == 4
    for mask_path in masks:
        name = mask_path.name.replace("_mask.png", "")
        image = load_image(root / "series" / name)
        mask = read_mask(mask_path)
        assert image.default_window == (40.0, 80.0) and image.pixels.dtype == np.float32
        assert 60 < image.pixels[mask].mean() < 80  # the bleed, in Hounsfield units
        assert (
            abs(image.pixels[~mask & (image.pixels > 15) & (image.pixels < 50)].mean() - 32) < 3
        )  # brain around it
        frame = load_image(root / "multiframe" / "volume.dcm", int(name[2:]) - 1)
        assert np.array_equal(frame.pixels, image.pixels)  # the multi-frame copy holds the same volume

    workspace = Workspace.open(root)
    report = scan(workspace)
    assert report.added == 13 and not report.unreadable  # 12 suffix-less slices and the multi-frame file
    rows = workspace.images(order="name")
    assert len(rows) == 24 and sum(r.frame is not None for r in rows) == 12
    assert all(r.modality == "dicom" and "Demo" not in r.gallery_name for r in rows)
    workspace.close()


def test_reviewed_ct_demo_slices_and_frames_export_as_dicom_seg(tmp_path):
    """The demo carries what a SEG copies from its source (frame of reference, plane position)."""
    import highdicom as hd

    from zsad_desktop.app.exports import export_mvtec
    from zsad_desktop.app.review.decisions import record_review
    from zsad_desktop.store import ReviewStatus

    root = tmp_path / "ct"
    from zsad_desktop.demo.ct import write_ct_demo

    write_ct_demo(root, slices=6, size=96, bleeding=2)
    with Workspace.open(root) as workspace:
        scan(workspace)
        truth = {
            p.name.replace("_mask.png", ""): read_mask(p) for p in (root / "ground_truth").glob("*_mask.png")
        }
        rows = workspace.images(order="name")
        reviewed = [r for r in rows if r.rel_path.split("/")[-1] in truth and r.frame is None]
        frame = next(r for r in rows if r.frame is not None and f"IM{r.frame + 1:04d}" in truth)
        for row in reviewed:
            record_review(workspace, row.id, ReviewStatus.CORRECTED, mask=truth[row.rel_path.split("/")[-1]])
        record_review(workspace, frame.id, ReviewStatus.CORRECTED, mask=truth[f"IM{frame.frame + 1:04d}"])
        report = export_mvtec(workspace, tmp_path / "out", dicom_seg=True)
    assert not report.seg_skipped and report.segmentations == len(reviewed) + 1 == 3
    segs = sorted((report.folder / "dicom_seg").iterdir())
    assert sum("_f00" in p.name for p in segs) == 1
    for path in segs:
        seg = hd.seg.segread(path)
        assert seg.FrameOfReferenceUID and seg.pixel_array.astype(bool).sum() in {
            int(m.sum()) for m in truth.values()
        }

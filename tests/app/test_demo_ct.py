"""The generated CT demo: a DICOM series and its multi-frame copy open as a workspace, bleeds where the masks say."""

import numpy as np

from zsad_desktop import cli
from zsad_desktop.app.scanning import scan
from zsad_desktop.app.workspace import Workspace
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
        assert abs(image.pixels[~mask & (image.pixels > 15) & (image.pixels < 50)].mean() - 32) < 3  # brain around it
        frame = load_image(root / "multiframe" / "volume.dcm", int(name[2:]) - 1)
        assert np.array_equal(frame.pixels, image.pixels)  # the multi-frame copy holds the same volume

    workspace = Workspace.open(root)
    report = scan(workspace)
    assert report.added == 13 and not report.unreadable  # 12 suffix-less slices and the multi-frame file
    rows = workspace.images(order="name")
    assert len(rows) == 24 and sum(r.frame is not None for r in rows) == 12
    assert all(r.modality == "dicom" and "Demo" not in r.gallery_name for r in rows)
    workspace.close()

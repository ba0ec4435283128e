"""The generated wafer demo: a large 16-bit tiled TIFF with its defect mask, written band by band."""

import numpy as np
import tifffile

from zsad_desktop import cli
from zsad_desktop.imaging import image_info, load_image, read_mask


def test_wafer_demo_is_a_16_bit_tiff_with_dark_defects_where_the_mask_is(tmp_path, capsys):
    assert (
        cli.main(["demo", str(tmp_path / "wafer"), "--kind", "wafer", "--side", "1300"]) == 0
    )  # not a tile multiple
    path = tmp_path / "wafer" / "wafer.tif"
    info = image_info(path)
    assert (info.width, info.height, info.bit_depth) == (1300, 1300, 16)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].is_tiled  # regions can be read without the whole image
    pixels = load_image(path).pixels
    mask = read_mask(tmp_path / "wafer" / "ground_truth" / "wafer_mask.png")
    assert pixels.dtype == np.uint16 and mask.shape == pixels.shape and mask.any()
    assert np.all(pixels[mask] == 9000)
    centre = pixels[600:700, 600:700][~mask[600:700, 600:700]]
    assert centre.min() > 15000  # dies and streets, far brighter than a defect

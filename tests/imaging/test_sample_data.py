"""Every real sample image the project's tests use must load, at the size its header says."""

import numpy as np

from zsad_desktop.imaging import image_info, is_image_file, load_image, read_mask, to_rgb8


def test_every_head_ct_and_hazelnut_image_loads(shared_data):
    paths = sorted((shared_data / "headct").rglob("*.png")) + sorted(
        (shared_data / "mvtec_ad/hazelnut").rglob("*.png")
    )
    assert len(paths) > 200
    for path in paths:
        assert is_image_file(path)
        image = load_image(path)
        info = image_info(path)
        assert image.pixels.shape[:2] == (info.height, info.width) and image.bit_depth == info.bit_depth == 8
        rgb = to_rgb8(image)
        assert rgb.shape == (info.height, info.width, 3) and rgb.dtype == np.uint8 and rgb.max() > 0


def test_hazelnut_ground_truth_masks_are_binary_and_aligned(shared_data):
    root = shared_data / "mvtec_ad/hazelnut"
    masks = sorted((root / "ground_truth").rglob("*_mask.png"))
    assert masks
    for mask_path in masks:
        mask = read_mask(mask_path)
        image = root / "test" / mask_path.parent.name / mask_path.name.replace("_mask", "")
        assert mask.dtype == bool and mask.any() and mask.shape == load_image(image).pixels.shape[:2]

"""A proposal found on a reduced heatmap: grown to the image's size, its regions exact without labelling it."""

import cv2
import numpy as np
import pytest

from zsad_desktop.app.viewer.mask_editing import strongest
from zsad_desktop.app.viewer.reduced_proposal import fits, grown_mask, reduced_regions


@pytest.mark.parametrize(
    "reduced_shape, shape", [((40, 50), (200, 250)), ((37, 53), (100, 150)), ((64, 64), (1000, 1000))]
)
def test_regions_of_a_grown_proposal_are_exact_disjoint_and_cover_it(reduced_shape, shape):
    rng = np.random.default_rng(0)
    reduced = rng.random(reduced_shape) > 0.8
    heat = rng.random(reduced_shape).astype(np.float32)
    full = grown_mask(reduced, shape)
    np.testing.assert_array_equal(
        full, cv2.resize(reduced.astype(np.uint8), shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    )
    regions = strongest(reduced_regions(reduced, shape, heat), None)
    assert len(regions) == cv2.connectedComponents(reduced.astype(np.uint8), connectivity=8)[0] - 1
    union = np.zeros(shape, bool)
    for region in regions:
        pixels = region.pixels
        assert pixels.sum() == region.area and not (union & pixels).any() and region.inside(full)
        ys, xs = np.nonzero(pixels)
        assert all(region.contains(int(x), int(y)) for x, y in zip(xs[:40], ys[:40]))
        left, top, width, height = region.box
        assert (
            not region.contains(left + width, top)
            and pixels[top : top + height, left : left + width].sum() == region.area
        )
        union |= pixels
    np.testing.assert_array_equal(union, full)
    peaks = [r.peak for r in regions]
    assert peaks == sorted(peaks, reverse=True)


def test_a_region_erased_from_the_mask_is_not_inside_it_and_its_pixels_are_made_only_when_asked():
    reduced = np.zeros((20, 20), bool)
    reduced[5:10, 5:10] = True
    full = grown_mask(reduced, (2000, 2000))
    (region,) = reduced_regions(reduced, full.shape, None)
    assert region.area == 500 * 500 and region.box == (500, 500, 500, 500)
    assert "crop" not in region.__dict__  # nothing image-sized made for the list
    mask = full.copy()
    mask[600:700, 600:700] = False
    assert region.inside(full) and not region.inside(mask)
    assert region.crop.shape == (500, 500) and region.crop.all()


def test_a_heatmap_fits_its_image_or_a_reduction_of_it():
    assert fits((40, 50), (40, 50)) and fits((40, 50), (200, 250)) and fits((4096, 2867), (20000, 14000))
    assert not fits((40, 60), (200, 250)) and not fits((400, 500), (200, 250))

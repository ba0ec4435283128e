import numpy as np
import pytest

from zsad_desktop.imaging import COLOUR_MAPS, blend, colourise, heatmap_to_png16, png16_to_heatmap


def test_colourise_ends_of_the_scale():
    ramp = np.array([[0.0, 1.0, np.nan, 2.0, -1.0]], np.float32)
    jet = colourise(ramp, "jet")
    assert jet.shape == (1, 5, 3) and jet.dtype == np.uint8
    assert jet[0, 0].tolist() == [0, 0, 128] and jet[0, 1].tolist() == [128, 0, 0]  # RGB: dark blue, dark red
    assert jet[0, 2].tolist() == jet[0, 0].tolist() == jet[0, 4].tolist()  # NaN and below 0 as 0
    assert jet[0, 3].tolist() == jet[0, 1].tolist()  # above 1 as 1
    assert colourise(ramp, "inferno")[0, 0].tolist() == [0, 0, 4]  # black-ish, not blue: channel order is RGB
    for name in ("jet", "inferno", "viridis", "turbo"):
        assert name in COLOUR_MAPS and colourise(ramp, name).shape == (1, 5, 3)


def test_colourise_rejects_unknown_maps_and_shapes():
    with pytest.raises(ValueError, match="unknown colour map 'rainbow'"):
        colourise(np.zeros((2, 2)), "rainbow")
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        colourise(np.zeros((2, 2, 3)))


def test_blend_by_hand():
    image = np.full((2, 2, 3), 100, np.uint8)
    colour = np.full((2, 2, 3), 200, np.uint8)
    assert blend(image, colour, 0.25)[0, 0].tolist() == [125] * 3
    alpha = np.array([[0.0, 1.0], [0.5, np.nan]])
    mixed = blend(image, colour, alpha)
    assert mixed[..., 0].tolist() == [[100, 200], [150, 100]]
    with pytest.raises(ValueError):
        blend(image, colour[:1], 0.5)


def test_heatmap_png16_round_trip():
    heat = np.array([[0.0, 1.0, 0.5, 1.5, -0.2, np.nan]], np.float32)
    pixels = heatmap_to_png16(heat)
    assert pixels.dtype == np.uint16 and pixels.tolist() == [[0, 65535, 32768, 65535, 0, 0]]
    values = np.random.default_rng(0).random((50, 50)).astype(np.float32)
    assert np.abs(png16_to_heatmap(heatmap_to_png16(values)) - values).max() <= 0.5 / 65535 + 1e-7

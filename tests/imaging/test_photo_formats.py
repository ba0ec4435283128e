import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from zsad_desktop.imaging import (
    ImageInfo,
    image_info,
    is_image_file,
    list_image_entries,
    load_image,
    read_rgb8,
    to_rgb8,
)
from zsad_desktop.imaging.orientation import apply_orientation

RNG = np.random.default_rng(7)
RAMP16 = (
    (np.arange(64 * 48, dtype=np.uint32) * 21).astype(np.uint16).reshape(48, 64)
)  # 0..64491, all distinct


def check_info(path, image):
    height, width = image.pixels.shape[:2]
    assert image_info(path) == ImageInfo(width, height, image.bit_depth, "photo")


@pytest.mark.parametrize("name", ["g.png", "g.tif", "g.tiff"])
def test_sixteen_bit_grey_round_trips_exactly(tmp_path, name):
    path = tmp_path / name
    Image.fromarray(RAMP16).save(path) if name.endswith(".png") else tifffile.imwrite(path, RAMP16)
    image = load_image(path)
    assert image.pixels.dtype == np.uint16 and image.bit_depth == 16 and image.modality == "photo"
    np.testing.assert_array_equal(image.pixels, RAMP16)
    check_info(path, image)
    shown = read_rgb8(path)
    assert shown.shape == (48, 64, 3) and shown.min() == 0 and shown.max() == 255


@pytest.mark.parametrize("name", ["c.png", "c.tif"])
def test_sixteen_bit_colour_round_trips_exactly(tmp_path, name):
    rgb = RNG.integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    path = tmp_path / name
    if name.endswith(".png"):
        assert cv2.imwrite(str(path), rgb[..., ::-1])  # OpenCV writes BGR
    else:
        tifffile.imwrite(path, rgb, photometric="rgb")
    image = load_image(path)
    assert image.pixels.dtype == np.uint16 and image.bit_depth == 16
    np.testing.assert_array_equal(image.pixels, rgb)
    check_info(path, image)


def test_sixteen_bit_rgba_png_is_composited_on_white(tmp_path):
    bgra = np.zeros((2, 2, 4), np.uint16)
    bgra[..., 2] = 60000  # red
    bgra[0, 0, 3], bgra[0, 1, 3], bgra[1, :, 3] = 65535, 0, 32768
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    pixels = load_image(tmp_path / "a.png").pixels
    assert pixels[0, 0].tolist() == [60000, 0, 0] and pixels[0, 1].tolist() == [65535] * 3
    # half opaque: 60000*w + 65535*(1-w) and 65535*(1-w) with w = 32768/65535
    w = 32768 / 65535
    assert pixels[1, 0].tolist() == [
        round(60000 * w + 65535 * (1 - w)),
        round(65535 * (1 - w)),
        round(65535 * (1 - w)),
    ]


def test_planar_signed_float_and_twelve_bit_tiffs(tmp_path):
    rgb = RNG.integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    tifffile.imwrite(
        tmp_path / "planar.tif", np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate"
    )
    np.testing.assert_array_equal(load_image(tmp_path / "planar.tif").pixels, rgb)
    signed = np.array([[-1000, 0], [1, 3000]], np.int16)
    tifffile.imwrite(tmp_path / "signed.tif", signed)
    image = load_image(tmp_path / "signed.tif")
    assert image.pixels.dtype == np.float32 and image.bit_depth == 16
    np.testing.assert_array_equal(image.pixels, signed)
    floats = np.array([[0.25, -1.5], [np.nan, 1e6]], np.float32)
    tifffile.imwrite(tmp_path / "float.tif", floats)
    image = load_image(tmp_path / "float.tif")
    assert image.bit_depth == 32
    np.testing.assert_array_equal(image.pixels, floats)
    assert to_rgb8(image).shape == (2, 2, 3)  # NaN does not break the default window


def test_palette_bilevel_and_white_is_zero_tiffs(tmp_path):
    index = np.array([[0, 1], [2, 1]], np.uint8)
    colormap = np.zeros((3, 256), np.uint16)
    colormap[:, 1] = [65535, 0, 0]  # 16-bit palette entries: red
    colormap[:, 2] = [0, 0, 32896]  # 128 << 8 | 128
    tifffile.imwrite(tmp_path / "pal.tif", index, photometric="palette", colormap=colormap)
    assert load_image(tmp_path / "pal.tif").pixels.tolist() == [
        [[0, 0, 0], [255, 0, 0]],
        [[0, 0, 128], [255, 0, 0]],
    ]
    tifffile.imwrite(tmp_path / "white_is_zero.tif", np.array([[0, 255]], np.uint8), photometric="miniswhite")
    assert load_image(tmp_path / "white_is_zero.tif").pixels.tolist() == [[255, 0]]
    Image.fromarray(np.array([[True, False]])).save(tmp_path / "bits.tif")
    assert read_rgb8(tmp_path / "bits.tif")[..., 0].tolist() == [[255, 0]]


def test_lzw_tiff_falls_back_to_pillow_when_tifffile_lacks_the_codec(tmp_path):
    Image.fromarray(RAMP16).save(tmp_path / "lzw16.tif", compression="tiff_lzw")
    np.testing.assert_array_equal(load_image(tmp_path / "lzw16.tif").pixels, RAMP16)
    rgb = RNG.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "lzw8.tif", compression="tiff_lzw")
    np.testing.assert_array_equal(load_image(tmp_path / "lzw8.tif").pixels, rgb)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif"])
def test_eight_bit_grey_and_rgb_are_exact(tmp_path, suffix):
    grey = RNG.integers(0, 256, (13, 17), dtype=np.uint8)
    rgb = RNG.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    for name, pixels in (("grey", grey), ("rgb", rgb)):
        path = tmp_path / f"{name}{suffix}"
        Image.fromarray(pixels).save(path)
        image = load_image(path)
        assert image.bit_depth == 8 and image.pixels.dtype == np.uint8
        np.testing.assert_array_equal(image.pixels, pixels)
        np.testing.assert_array_equal(to_rgb8(image), pixels if pixels.ndim == 3 else np.dstack([pixels] * 3))
        check_info(path, image)


def test_jpeg_and_cmyk_jpeg(tmp_path):
    Image.new("RGB", (40, 30), (200, 30, 60)).save(tmp_path / "rgb.jpg", quality=95)
    Image.new("RGB", (40, 30), (200, 30, 60)).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    for name in ("rgb.jpg", "cmyk.jpg"):
        rgb = read_rgb8(tmp_path / name)
        assert rgb.shape == (30, 40, 3)
        assert np.abs(rgb.astype(int).mean(axis=(0, 1)) - [200, 30, 60]).max() < 6


def test_cmyk_tiff_is_converted_to_rgb(tmp_path):
    Image.new("CMYK", (5, 4), (0, 255, 255, 0)).save(tmp_path / "cmyk.tif")  # full magenta and yellow: red
    assert load_image(tmp_path / "cmyk.tif").pixels[0, 0].tolist() == [255, 0, 0]


def test_palette_pngs_with_and_without_transparency(tmp_path):
    image = Image.new("P", (3, 1))
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putdata([0, 1, 1])
    image.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").pixels.tolist() == [[[10, 20, 30], [200, 100, 50], [200, 100, 50]]]
    image.save(tmp_path / "pt.png", transparency=0)  # index 0 fully transparent -> white
    assert load_image(tmp_path / "pt.png").pixels.tolist() == [
        [[255, 255, 255], [200, 100, 50], [200, 100, 50]]
    ]


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [100, 0, 200, 128]]], np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    # by hand: 100*128/255 + 255*127/255 = 177.2 -> 177; 0 -> 127; 200 -> 227.4 -> 227
    assert load_image(tmp_path / "rgba.png").pixels.tolist() == [[[255] * 3, [0] * 3, [177, 127, 227]]]
    Image.fromarray(np.array([[[50, 0], [50, 255]]], np.uint8), "LA").save(tmp_path / "la.png")
    assert load_image(tmp_path / "la.png").pixels.tolist() == [[255, 50]]  # stays grey


def test_bilevel_png(tmp_path):
    Image.fromarray(np.array([[True, False]])).save(tmp_path / "b.png")
    assert load_image(tmp_path / "b.png").pixels.tolist() == [[255, 0]]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    pixels = RNG.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    upright = np.asarray(ImageOps.exif_transpose(_with_orientation(Image.fromarray(pixels), orientation)))
    np.testing.assert_array_equal(apply_orientation(pixels, orientation), upright)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(tmp_path / "o.png", exif=exif)
    np.testing.assert_array_equal(load_image(tmp_path / "o.png").pixels, upright)
    info = image_info(tmp_path / "o.png")
    assert (info.height, info.width) == upright.shape[:2]


def test_exif_orientation_of_a_jpeg(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255  # white on the left as stored
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    image.save(tmp_path / "o.jpg", exif=exif, quality=95)
    rgb = read_rgb8(tmp_path / "o.jpg")
    assert rgb.shape == (40, 20, 3)
    assert rgb[:10].mean() > 200 and rgb[-10:].mean() < 50  # the white band is now on top
    assert (image_info(tmp_path / "o.jpg").width, image_info(tmp_path / "o.jpg").height) == (20, 40)


def test_orientation_of_sixteen_bit_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "o.tif", RAMP16, extratags=[(274, 3, 1, 6, True)])
    np.testing.assert_array_equal(load_image(tmp_path / "o.tif").pixels, np.rot90(RAMP16, -1))
    assert image_info(tmp_path / "o.tif").width == 48


def test_format_is_told_by_content_not_name(tmp_path):
    Image.fromarray(RAMP16).save(tmp_path / "really_png.tif", format="PNG")
    tifffile.imwrite(tmp_path / "really_tiff.png", RAMP16)
    Image.fromarray(RAMP16).save(tmp_path / "really_png.dcm", format="PNG")
    for name in ("really_png.tif", "really_tiff.png", "really_png.dcm"):
        np.testing.assert_array_equal(load_image(tmp_path / name).pixels, RAMP16)


def test_suffixes_and_entries(tmp_path):
    for name in ("a.PNG", "b.jpeg", "c.JPG", "d.bmp", "e.tiff", "f.dcm"):
        assert is_image_file(tmp_path / name)
    for name in ("a.txt", "b.csv", "c"):
        assert not is_image_file(tmp_path / name)
    Image.new("L", (3, 2)).save(tmp_path / "one.png")
    [entry] = list_image_entries(tmp_path / "one.png")
    assert (entry.path, entry.frame, entry.label) == (tmp_path / "one.png", None, "one.png")


def _with_orientation(image, orientation):
    exif = image.getexif()
    exif[0x0112] = orientation
    image.info["exif"] = exif.tobytes()
    return image

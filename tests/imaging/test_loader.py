import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from zsad_desktop.imaging import ImageLoadError, image_info, is_image_file, load_image, read_rgb8, to_rgb8


def test_sixteen_bit_png_and_tiff_keep_their_full_range(tmp_path):
    values = (np.arange(64 * 48, dtype=np.uint32) * 21).astype(np.uint16).reshape(48, 64)
    Image.fromarray(values).save(tmp_path / "a.png")
    tifffile.imwrite(tmp_path / "a.tif", values)
    for name in ("a.png", "a.tif"):
        image = load_image(tmp_path / name)
        assert image.bit_depth == 16 and image.pixels.dtype == np.uint16
        np.testing.assert_array_equal(image.pixels, values)
        assert image_info(tmp_path / name).bit_depth == 16
    rgb = read_rgb8(tmp_path / "a.png")
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8 and rgb.min() == 0 and rgb.max() == 255


def test_sixteen_bit_rgb_tiff(tmp_path):
    values = np.random.default_rng(0).integers(0, 65535, (20, 30, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "rgb.tiff", values, photometric="rgb")
    np.testing.assert_array_equal(load_image(tmp_path / "rgb.tiff").pixels, values)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "CMYK", "1"])
def test_modes_become_rgb8(tmp_path, mode):
    image = Image.new("RGB", (40, 30), (200, 30, 60)).convert(mode)
    suffix = ".jpg" if mode == "CMYK" else ".png"
    image.save(tmp_path / f"x{suffix}")
    rgb = read_rgb8(tmp_path / f"x{suffix}")
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8


def test_transparent_pixels_are_composited_on_white(tmp_path):
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(tmp_path / "t.png")
    assert (read_rgb8(tmp_path / "t.png") == 255).all()


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255  # white on the left
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "o.jpg", exif=exif, quality=95)
    rgb = read_rgb8(tmp_path / "o.jpg")
    assert rgb.shape == (40, 20, 3)
    assert rgb[:10].mean() > 200 and rgb[-10:].mean() < 50  # the white band is now on top
    info = image_info(tmp_path / "o.jpg")
    assert (info.width, info.height) == (20, 40)


def test_bad_files_raise_one_error_type_with_path_and_reason(tmp_path):
    good = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good, format="PNG")
    (tmp_path / "truncated.png").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    for name, reason in (("truncated.png", ""), ("empty.png", "empty"), ("text.png", "not a readable image"), ("gone.png", "not found")):
        with pytest.raises(ImageLoadError) as info:
            load_image(tmp_path / name)
        assert info.value.path == tmp_path / name and reason in info.value.reason
        assert str(tmp_path / name) in str(info.value)


def test_real_sample_images_load(shared_data):
    paths = sorted((shared_data / "headct").rglob("*.png"))[:20] + sorted((shared_data / "mvtec_ad/hazelnut/test").rglob("*.png"))
    assert len(paths) > 20
    for path in paths:
        assert is_image_file(path)
        rgb = read_rgb8(path)
        info = image_info(path)
        assert rgb.shape == (info.height, info.width, 3)


def test_window_override_applies_to_eight_bit_too(tmp_path):
    Image.fromarray(np.full((4, 4), 100, np.uint8)).save(tmp_path / "g.png")
    image = load_image(tmp_path / "g.png")
    assert to_rgb8(image, window=(100, 50))[0, 0, 0] == 128

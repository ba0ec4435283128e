"""Images decoded whole have a pixel limit, checked from the header; conversion goes band by band."""

import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from tests.imaging.dicom_files import write_dicom
from zsad_desktop.imaging import ImageLoadError, image_info, load_image, photo
from zsad_desktop.imaging.decode_limit import DEFAULT_MAX_PIXELS, ENV_VARIABLE


def png_header_only(path, width, height):
    """A PNG that claims its size and holds one row: whoever decodes it finds it truncated."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * (3 * width + 1)))
        + chunk(b"IEND", b"")
    )
    return path


def test_a_30000_pixel_png_is_refused_from_its_header_naming_the_limit_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    path = png_header_only(tmp_path / "huge.png", 30_000, 30_000)
    assert (image_info(path).width, image_info(path).height) == (30_000, 30_000)  # the scan still lists it
    with pytest.raises(ImageLoadError) as refused:
        load_image(path)
    assert f"{DEFAULT_MAX_PIXELS / 1e6:,.0f} megapixels" in refused.value.reason
    assert "30,000 x 30,000" in refused.value.reason and ENV_VARIABLE in refused.value.reason
    assert "truncated" not in refused.value.reason  # refused before any decoding


@pytest.mark.parametrize("suffix", ["png", "jpg", "bmp", "gif", "webp", "tif"])
def test_the_setting_moves_the_limit_for_every_format_decoded_whole(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"small.{suffix}"
    if suffix == "tif":
        tifffile.imwrite(
            path, np.zeros((30, 40, 4), np.uint8), photometric="rgb", extrasamples=["unassalpha"]
        )
    else:
        Image.new("RGB", (40, 30), "grey").save(path)
    monkeypatch.setenv(ENV_VARIABLE, "1199")
    with pytest.raises(ImageLoadError, match="40 x 30 pixels"):
        load_image(path)
    monkeypatch.setenv(ENV_VARIABLE, "1200")
    assert load_image(path).shape == (30, 40)


def test_a_dicom_frame_over_the_limit_is_refused(tmp_path, monkeypatch):
    path = write_dicom(tmp_path / "ct.dcm", np.zeros((30, 40), np.uint16))
    monkeypatch.setenv(ENV_VARIABLE, "1000")
    with pytest.raises(ImageLoadError, match="DICOM frame"):
        load_image(path)


def test_a_setting_that_is_no_number_says_what_it_expects(tmp_path, monkeypatch):
    Image.new("L", (4, 4)).save(tmp_path / "a.png")
    monkeypatch.setenv(ENV_VARIABLE, "lots")
    with pytest.raises(ImageLoadError, match=f"{ENV_VARIABLE}='lots': expected a positive number of pixels"):
        load_image(tmp_path / "a.png")


@pytest.mark.parametrize("mode", ["1", "L", "P", "PA", "LA", "RGB", "RGBA", "CMYK", "I;16", "I", "F"])
def test_band_by_band_conversion_gives_the_whole_image_conversion(mode, monkeypatch):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (37, 23, 4), np.uint8), "RGBA").convert(mode)
    if mode == "P":
        image.info["transparency"] = 3
    whole = photo._pillow_to_array(image)
    monkeypatch.setattr(photo, "BAND_PIXELS", 50)  # two rows at a time
    banded = photo._pillow_to_array(image)
    assert banded.dtype == whole.dtype and np.array_equal(banded, whole)

import io
import pickle

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from zsad_desktop.imaging import ImageLoadError, image_info, list_image_entries, load_image, read_rgb8


def encoded(fmt: str, pixels: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noisy(shape, dtype=np.uint8):
    return np.random.default_rng(3).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)


def truncated_files(tmp_path):
    """Each format cut in half: the decoders would otherwise hand back a partly grey image."""
    files = {
        "png8.png": encoded("PNG", noisy((64, 64, 3))),
        "png16.png": encoded("PNG", noisy((64, 64), np.uint16)),
        "jpeg.jpg": encoded("JPEG", noisy((64, 64, 3))),
        "bmp.bmp": encoded("BMP", noisy((64, 64, 3))),
        "png16rgb.png": cv2.imencode(".png", noisy((64, 64, 3), np.uint16))[1].tobytes(),
    }
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, noisy((64, 64), np.uint16))
    files["tiff.tif"] = buffer.getvalue()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data[: len(data) // 2])
    return list(files)


def test_truncated_images_are_errors_not_half_images(tmp_path):
    for name in truncated_files(tmp_path):
        with pytest.raises(ImageLoadError) as error:
            load_image(tmp_path / name)
        assert error.value.path == tmp_path / name, name
        assert "truncated" in error.value.reason, (name, error.value.reason)


def test_bad_files_raise_one_error_type_with_path_and_reason(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello, this is not a picture")
    (tmp_path / "text.tif").write_bytes(b"II*\0garbage")
    (tmp_path / "folder.png").mkdir()
    cases = {
        "empty.png": "file is empty",
        "text.png": "not a readable image",
        "text.tif": "not a readable image",
        "folder.png": "not a file",
        "gone.png": "file not found",
    }
    for name, reason in cases.items():
        for read in (load_image, image_info, read_rgb8, list_image_entries):
            with pytest.raises(ImageLoadError) as error:
                read(tmp_path / name)
            assert error.value.path == tmp_path / name
            assert reason in error.value.reason, (name, read.__name__, error.value.reason)
            assert str(error.value) == f"{tmp_path / name}: {error.value.reason}"


def test_a_frame_of_a_single_image_file(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png", frame=0).frame is None
    with pytest.raises(ImageLoadError, match="frame 1 requested, the file has 1"):
        load_image(tmp_path / "a.png", frame=1)


def test_the_error_survives_pickling_for_worker_processes(tmp_path):
    error = pickle.loads(pickle.dumps(ImageLoadError(tmp_path / "x.png", "file is empty")))
    assert error.path == tmp_path / "x.png" and error.reason == "file is empty"
    assert str(error) == f"{tmp_path / 'x.png'}: file is empty"


def test_pillow_is_left_strict_about_truncation():
    from PIL import ImageFile

    import zsad_desktop.imaging  # noqa: F401 - importing must not relax Pillow

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_tiff_codec_neither_tifffile_nor_pillow_has_names_imagecodecs(tmp_path):
    try:
        import imagecodecs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("imagecodecs is installed here")
    path = tmp_path / "lzw16rgb.tif"
    tifffile.imwrite(path, noisy((8, 8, 3), np.uint16), photometric="rgb")
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags["Compression"].valueoffset
    data = bytearray(path.read_bytes())
    data[offset : offset + 2] = (5).to_bytes(
        2, "little"
    )  # claim LZW: 16-bit RGB that Pillow cannot read either
    path.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError, match="pip install imagecodecs"):
        load_image(path)

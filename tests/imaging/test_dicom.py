import numpy as np
import pytest
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder
from pydicom.uid import JPEGLosslessSV1, RLELossless

from tests.imaging.dicom_files import PATIENT, functional_groups, write_dicom
from zsad_desktop.imaging import (
    ImageLoadError,
    image_info,
    is_image_file,
    list_image_entries,
    load_image,
    to_rgb8,
)


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_values_are_decoded_with_rescale(tmp_path, bits):
    raw = np.random.default_rng(bits).integers(0, 2**bits - 1, (12, 10)).astype(np.uint16)
    path = write_dicom(tmp_path / "a.dcm", raw, bits=bits, slope=2.0, intercept=-1024.0)
    image = load_image(path)
    assert image.pixels.dtype == np.float32
    np.testing.assert_array_equal(image.pixels, raw * 2.0 - 1024.0)
    assert image.modality == "dicom" and image.bit_depth == bits and image.frame is None
    assert image_info(path) == type(image_info(path))(10, 12, bits, "dicom", 1, "CT Head CT #7")


def test_signed_pixels_keep_their_sign(tmp_path):
    raw = np.array([[-1024, 0], [40, 3071]])
    image = load_image(write_dicom(tmp_path / "s.dcm", raw, signed=True))
    np.testing.assert_array_equal(image.pixels, raw)


def test_label_is_patient_safe(tmp_path):
    image = load_image(write_dicom(tmp_path / "Secret_Patient.dcm", np.zeros((4, 4))))
    assert image.label == "CT Head CT #7"
    assert "Secret" not in image.label and "4711" not in image.label and PATIENT not in image.label


def test_monochrome2_window_from_file_is_the_default(tmp_path):
    raw = np.array([[0, 40], [80, 1000]], np.uint16)
    image = load_image(write_dicom(tmp_path / "w.dcm", raw, window=(40, 80)))
    assert image.default_window == (40.0, 80.0)
    # by hand: window 0..80 -> 0..255, so 0 -> 0, 40 -> 127.5 rounds to 128, 80 and above -> 255
    assert to_rgb8(image)[..., 0].tolist() == [[0, 128], [255, 255]]
    assert to_rgb8(image, window=(500, 1000))[..., 0].tolist() == [
        [0, 10],
        [20, 255],
    ]  # 40*255/1000=10.2, 80->20.4


def test_monochrome2_without_window_uses_the_percentile_window(tmp_path):
    raw = np.arange(10001, dtype=np.uint16).reshape(73, 137)
    image = load_image(write_dicom(tmp_path / "p.dcm", raw))
    assert image.default_window is None
    shown = to_rgb8(image)[..., 0]
    assert shown.min() == 0 and shown.max() == 255 and shown.flat[5000] == 128


def test_monochrome1_is_inverted_over_the_stored_range_and_the_window_moves_with_it(tmp_path):
    raw = np.array([[0, 100], [200, 300]], np.uint16)
    path = write_dicom(
        tmp_path / "m1.dcm",
        raw,
        bits=12,
        photometric="MONOCHROME1",
        window=(-900, 200),
        slope=1.0,
        intercept=-1000.0,
    )
    image = load_image(path)
    # stored range 0..4095 rescales to -1000..3095; mirrored over their sum 2095
    np.testing.assert_array_equal(image.pixels, 2095.0 - (raw - 1000.0))
    assert image.default_window == (2995.0, 200.0)
    shown = to_rgb8(image)[..., 0]
    # the file's window -1000..-800 covers raw 0..200; white-is-zero: raw 0 shows white, raw 100 mid, 200+ black
    assert shown.tolist() == [[255, 128], [0, 0]]


def test_multi_frame_expands_into_entries_and_frame_selects(tmp_path):
    frames = np.stack([np.full((6, 5), i * 10, np.uint16) for i in range(3)])
    path = write_dicom(tmp_path / "multi.dcm", frames)
    entries = list_image_entries(path)
    assert [(e.path, e.frame) for e in entries] == [(path, 0), (path, 1), (path, 2)]
    assert entries[2].label == "CT Head CT #7 frame 3"
    assert image_info(path).frames == 3
    image = load_image(path, frame=2)
    assert image.frame == 2 and image.pixels.shape == (6, 5) and (image.pixels == 20).all()
    assert load_image(path).frame == 0 and (load_image(path).pixels == 0).all()
    with pytest.raises(ImageLoadError, match="frame 5 requested, the file has 3"):
        load_image(path, frame=5)


def test_enhanced_multi_frame_reads_rescale_and_window_per_frame(tmp_path):
    frames = np.stack([np.full((4, 4), 100 * i, np.uint16) for i in range(3)])
    groups = functional_groups(
        [{"slope": 2.0, "intercept": -10.0 * i, "window": (i, 10 + i)} for i in range(3)]
    )
    path = write_dicom(tmp_path / "enhanced.dcm", frames, **groups)
    for i in range(3):
        image = load_image(path, frame=i)
        assert image.pixels[0, 0] == 200.0 * i - 10.0 * i
        assert image.default_window == (float(i), 10.0 + i)


@pytest.mark.parametrize("name", ["IM0001", "1.2.840.113619.2.1.1"])
def test_dicom_without_dcm_suffix_is_found_by_its_preamble(tmp_path, name):
    path = write_dicom(tmp_path / name, np.full((3, 3), 7, np.uint16))
    assert is_image_file(path)
    assert load_image(path).modality == "dicom" and (load_image(path).pixels == 7).all()
    (tmp_path / "README").write_text("not an image")
    assert not is_image_file(tmp_path / "README")


def test_dcm_without_preamble_is_still_read(tmp_path):
    path = write_dicom(tmp_path / "old.dcm", np.arange(12, dtype=np.uint16).reshape(3, 4), preamble=False)
    assert path.read_bytes()[128:132] != b"DICM"
    np.testing.assert_array_equal(load_image(path).pixels, np.arange(12).reshape(3, 4))
    assert image_info(path).width == 4


def test_rgb_dicom_stays_rgb(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (5, 6, 3))
    image = load_image(write_dicom(tmp_path / "rgb.dcm", rgb, bits=8, photometric="RGB"))
    assert image.pixels.dtype == np.uint8
    np.testing.assert_array_equal(image.pixels, rgb)
    np.testing.assert_array_equal(to_rgb8(image), rgb)


def test_rle_compressed_dicom_decodes(tmp_path):
    raw = np.random.default_rng(1).integers(0, 4096, (16, 16)).astype(np.uint16)
    path = write_dicom(tmp_path / "rle.dcm", raw, bits=12)
    ds = dcmread(path)
    ds.compress(RLELossless)
    ds.save_as(path)
    np.testing.assert_array_equal(load_image(path).pixels, raw)


def test_compressed_without_decoder_names_the_package(tmp_path):
    if get_decoder(JPEGLosslessSV1).is_available:
        pytest.skip("a JPEG Lossless decoder is installed here")
    path = write_dicom(tmp_path / "j.dcm", np.zeros((8, 8), np.uint16))
    ds = dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    ds.PixelData = encapsulate([b"\xff\xd8" + b"\0" * 62 + b"\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    with pytest.raises(ImageLoadError) as error:
        load_image(path)
    assert "needs an extra decoder" in error.value.reason
    assert (
        "pip install pylibjpeg pylibjpeg-libjpeg" in error.value.reason
        and "python-gdcm" in error.value.reason
    )
    assert image_info(path).width == 8  # the header is still readable for folder scans


@pytest.mark.filterwarnings("ignore:End of file reached")
def test_dicom_errors_name_the_file(tmp_path):
    no_pixels = write_dicom(tmp_path / "nopix.dcm", np.zeros((2, 2)))
    ds = dcmread(no_pixels)
    del ds.PixelData
    ds.save_as(no_pixels)
    (tmp_path / "fake.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 40)
    (tmp_path / "text.dcm").write_text("hello, not DICOM")
    for name, reason in (("nopix.dcm", "no pixel data"), ("fake.dcm", "DICOM"), ("text.dcm", "DICOM")):
        with pytest.raises(ImageLoadError, match=reason) as error:
            load_image(tmp_path / name)
        assert error.value.path == tmp_path / name


@pytest.mark.parametrize("frame_side", [8, 512])  # 512: three frames over 1 MiB stay on disk (deferred read)
def test_truncated_dicom_is_an_error_even_where_the_frame_asked_for_is_whole(tmp_path, frame_side):
    frames = np.stack([np.full((frame_side, frame_side), 100 * index) for index in range(3)])
    whole = write_dicom(tmp_path / "whole.dcm", frames).read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(whole[:-10])  # only the last frame's tail is missing
    for frame in (0, 2):
        with pytest.raises(ImageLoadError, match="truncated") as error:
            load_image(cut, frame=frame)
        assert error.value.path == cut
    assert load_image(tmp_path / "whole.dcm", frame=2).pixels[0, 0] == 200

import numpy as np
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, SecondaryCaptureImageStorage, generate_uid

from zsad_desktop.imaging import ImageLoadError, image_info, is_image_file, load_image, to_rgb8


def write_dicom(path, pixels, bits=16, photometric="MONOCHROME2", slope=1.0, intercept=0.0, window=None, syntax=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Secret^Patient"
    ds.SeriesDescription, ds.InstanceNumber, ds.Modality = "Head CT", 7, "CT"
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated = 8 if bits == 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = pixels.astype(np.uint8 if bits == 8 else np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_values_are_decoded_with_rescale(tmp_path, bits):
    raw = np.random.default_rng(bits).integers(0, 2**bits - 1, (12, 10)).astype(np.uint16)
    path = write_dicom(tmp_path / "a.dcm", raw, bits=bits, slope=2.0, intercept=-1024.0)
    image = load_image(path)
    np.testing.assert_allclose(image.pixels, raw * 2.0 - 1024.0)
    assert image.modality == "dicom" and image.bit_depth == bits
    assert "Secret" not in image.label and "Head CT" in image.label


def test_monochrome1_is_inverted_and_window_from_file_is_default(tmp_path):
    raw = np.array([[0, 100], [200, 300]], np.uint16)
    path = write_dicom(tmp_path / "m1.dcm", raw, photometric="MONOCHROME1", window=(100, 200))
    image = load_image(path)
    np.testing.assert_allclose(image.pixels, 300 - raw)
    assert image.default_window == (200.0, 200.0)  # the centre moves with the inversion
    shown = to_rgb8(image)[..., 0]
    # window 100..300 -> 0..255: pixel 300 (raw 0) is white, pixel 0 (raw 300) black
    assert shown[0, 0] == 255 and shown[1, 1] == 0 and shown[0, 1] == 128 and shown[1, 0] == 0


def test_multi_frame_and_extensionless_files(tmp_path):
    frames = np.stack([np.full((6, 5), i * 10, np.uint16) for i in range(3)])
    path = write_dicom(tmp_path / "IM0001", frames)
    assert is_image_file(path) and image_info(path).frames == 3
    assert load_image(path, frame=2).pixels[0, 0] == 20 and load_image(path, frame=2).frame == 2
    with pytest.raises(ImageLoadError, match="frame 5"):
        load_image(path, frame=5)


def test_compressed_without_decoder_names_the_package(tmp_path):
    path = write_dicom(tmp_path / "j.dcm", np.zeros((8, 8), np.uint8), bits=8)
    from pydicom import dcmread

    ds = dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    from pydicom.encaps import encapsulate

    ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9" + b"\0" * 60])  # a JPEG frame needs a decoder pydicom lacks
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    with pytest.raises(ImageLoadError, match="pip install"):
        load_image(path)

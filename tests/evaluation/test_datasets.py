import numpy as np
import pytest
from PIL import Image

from zsad_desktop.evaluation import DatasetError, load_mask, read_dataset


def test_mvtec_reader_on_the_real_samples(shared_data):
    data = read_dataset(shared_data / "mvtec_ad", layout="mvtec")
    assert set(data) == {"hazelnut", "transistor"}
    hazelnut = data["hazelnut"]
    anomalous = [s for s in hazelnut if s.label == 1]
    assert anomalous and all(s.mask_path and s.mask_path.is_file() for s in anomalous)
    assert any(s.label == 0 and s.defect == "good" for s in hazelnut)
    mask = load_mask(anomalous[0], (256, 256))
    assert mask.dtype == bool and mask.any()
    single = read_dataset(shared_data / "glass_anomaly" / "glass")
    assert list(single) == ["glass"] and len(single["glass"]) == 98
    assert load_mask(anomalous[0], (64, 64)).shape == (64, 64)


def _png(path, value=0, size=(8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)


def test_visa_btad_and_folder_layouts(tmp_path):
    visa = tmp_path / "visa"
    _png(visa / "candle/Data/Images/Normal/0.JPG".replace(".JPG", ".png"))
    _png(visa / "candle/Data/Images/Anomaly/1.png")
    _png(visa / "candle/Data/Masks/Anomaly/1.png", 255)
    (visa / "split_csv").mkdir()
    (visa / "split_csv/1cls.csv").write_text(
        "object,split,label,image,mask\n"
        "candle,test,normal,candle/Data/Images/Normal/0.png,\n"
        "candle,test,anomaly,candle/Data/Images/Anomaly/1.png,candle/Data/Masks/Anomaly/1.png\n"
        "candle,train,normal,candle/Data/Images/Normal/0.png,\n"
    )
    samples = read_dataset(visa, layout="visa")["candle"]
    assert [s.label for s in samples] == [0, 1] and load_mask(samples[1], (8, 8)).all()

    btad = tmp_path / "btad"
    _png(btad / "01/test/ok/0000.png")
    _png(btad / "01/test/ko/0001.png")
    _png(btad / "01/ground_truth/ko/0001.png", 255)
    samples = read_dataset(btad, layout="btad")["01"]
    assert [s.label for s in samples] == [0, 1] and samples[1].mask_path.name == "0001.png"

    folder = tmp_path / "parts"
    _png(folder / "images/a.png")
    _png(folder / "images/b.png")
    _png(folder / "masks/b.png", 255)
    samples = read_dataset(folder, layout="folder")["parts"]
    assert [(s.image_path.name, s.label) for s in samples] == [("a.png", 0), ("b.png", 1)]


def test_wrong_layout_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="MVTec AD layout"):
        read_dataset(tmp_path, layout="mvtec")
    with pytest.raises(DatasetError, match="1cls.csv"):
        read_dataset(tmp_path, layout="visa")
    with pytest.raises(DatasetError, match="unknown layout"):
        read_dataset(tmp_path, layout="coco")

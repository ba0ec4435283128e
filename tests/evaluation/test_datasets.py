import numpy as np
import pytest
from PIL import Image

from zsad_desktop.evaluation import DatasetError, Sample, load_mask, read_dataset


def _png(path, value=0, size=(8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)


def test_mvtec_reader_on_the_real_samples(shared_data):
    data = read_dataset(shared_data / "mvtec_ad", layout="mvtec")
    assert set(data) == {"hazelnut", "transistor"}
    hazelnut = data["hazelnut"]
    assert len(hazelnut) == 10 and all(s.split == "test" and s.category == "hazelnut" for s in hazelnut)
    anomalous = [s for s in hazelnut if s.label == 1]
    assert {s.defect for s in anomalous} == {"crack", "cut", "hole", "print"}
    for sample in anomalous:
        assert (
            sample.mask_path
            == shared_data
            / "mvtec_ad/hazelnut/ground_truth"
            / sample.defect
            / f"{sample.image_path.stem}_mask.png"
        )
        assert sample.has_pixel_truth
    normal = [s for s in hazelnut if s.label == 0]
    assert normal and all(s.defect == "good" and s.mask_path is None for s in normal)
    mask = load_mask(anomalous[0], (256, 256))
    assert mask.dtype == bool and mask.shape == (256, 256) and mask.any() and not mask.all()
    assert not load_mask(normal[0], (256, 256)).any()


def test_transistor_and_glass_masks_all_exist_and_match_their_images(shared_data):
    transistor = read_dataset(shared_data / "mvtec_ad", categories=["transistor"])["transistor"]
    assert {s.defect for s in transistor} == {"good", "bent_lead", "cut_lead", "damaged_case", "misplaced"}
    glass = read_dataset(shared_data / "glass_anomaly")["glass"]
    for sample in transistor + glass:
        if sample.label == 0:
            assert sample.mask_path is None
            continue
        assert sample.mask_path.parent.name == sample.defect and sample.mask_path.is_file()
        mask = load_mask(sample, (256, 256))
        assert mask.any(), sample.mask_path


def test_mvtec_category_folder_split_and_filter(shared_data):
    single = read_dataset(shared_data / "glass_anomaly" / "glass")
    assert list(single) == ["glass"] and len(single["glass"]) == 98
    assert sum(s.label for s in single["glass"]) == 80
    only = read_dataset(shared_data / "mvtec_ad", categories=["transistor"])
    assert list(only) == ["transistor"]
    train = read_dataset(shared_data / "mvtec_ad" / "hazelnut", split="train")["hazelnut"]
    assert train and all(s.label == 0 and s.split == "train" for s in train)
    with pytest.raises(DatasetError, match="no category 'nothing'.*found: hazelnut, transistor"):
        read_dataset(shared_data / "mvtec_ad", categories=["transistor", "nothing"])


def test_image_level_labels_have_no_pixel_truth(shared_data):
    head_ct = read_dataset(shared_data / "headct" / "head_ct")["head_ct"]
    hemorrhage = [s for s in head_ct if s.defect == "hemorrhage"]
    assert len(hemorrhage) == 100 and all(s.label == 1 and s.mask_path is None for s in hemorrhage)
    assert not any(s.has_pixel_truth for s in hemorrhage)
    assert all(s.has_pixel_truth for s in head_ct if s.label == 0)


def test_mask_is_resized_nearest_and_stays_binary(tmp_path):
    mask = np.zeros((8, 8), np.uint8)
    mask[:4, :4] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    sample = Sample(tmp_path / "i.png", tmp_path / "m.png", 1, "c", "d", "test")
    big = load_mask(sample, (16, 32))
    assert big.dtype == bool and big.shape == (16, 32)
    assert big[:8, :16].all() and not big[8:].any() and not big[:, 16:].any()
    assert load_mask(Sample(tmp_path / "i.png", None, 0, "c", "good", "test"), (3, 5)).shape == (3, 5)


def test_unreadable_mask_is_a_dataset_error(tmp_path):
    (tmp_path / "m.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="m.png"):
        load_mask(Sample(tmp_path / "i.png", tmp_path / "m.png", 1, "c", "d", "test"), (4, 4))


def _visa(root, rows):
    (root / "split_csv").mkdir(parents=True)
    (root / "split_csv/1cls.csv").write_text(
        "object,split,label,image,mask\n" + "".join(r + "\n" for r in rows)
    )


def test_visa_layout(tmp_path):
    visa = tmp_path / "visa"
    _png(visa / "candle/Data/Images/Normal/0.png")
    _png(visa / "candle/Data/Images/Anomaly/1.png")
    _png(visa / "candle/Data/Masks/Anomaly/1.png", 255)
    _png(visa / "pcb1/Data/Images/Normal/0.png")
    _visa(
        visa,
        [
            "candle,test,normal,candle/Data/Images/Normal/0.png,",
            "candle,test,anomaly,candle/Data/Images/Anomaly/1.png,candle/Data/Masks/Anomaly/1.png",
            "candle,train,normal,candle/Data/Images/Normal/0.png,",
            "pcb1,train,normal,pcb1/Data/Images/Normal/0.png,",
        ],
    )
    data = read_dataset(visa, layout="visa")
    assert list(data) == ["candle"]  # pcb1 has no test rows
    samples = data["candle"]
    assert [s.label for s in samples] == [0, 1] and samples[0].mask_path is None
    assert samples[1].image_path == visa / "candle/Data/Images/Anomaly/1.png"
    assert load_mask(samples[1], (8, 8)).all()
    train = read_dataset(visa, layout="visa", split="train", categories=["pcb1"])
    assert list(train) == ["pcb1"] and train["pcb1"][0].split == "train"
    # pcb1 exists but has no test image; an unknown category is named with the ones that exist
    with pytest.raises(DatasetError, match="no test images.*pcb1"):
        read_dataset(visa, layout="visa", categories=["pcb1"])
    with pytest.raises(DatasetError, match="no category 'pcb9'.*found: candle, pcb1"):
        read_dataset(visa, layout="visa", categories=["pcb9"])


def test_visa_paths_that_miss_are_reported_once(tmp_path):
    _png(tmp_path / "visa/candle/Data/Images/Normal/0.png")
    _visa(
        tmp_path / "visa",
        [
            "candle,test,normal,candle/Data/Images/Normal/0.png,",
            "candle,test,normal,candle/Data/Images/Normal/1.png,",
        ],
    )
    with pytest.raises(DatasetError, match=r"1 of 2 images.*Normal/1\.png.*relative to"):
        read_dataset(tmp_path / "visa", layout="visa")


def test_visa_table_errors(tmp_path):
    _visa(tmp_path / "a", ["candle,test,broken,x.png,"])
    with pytest.raises(DatasetError, match="line 2.*broken"):
        read_dataset(tmp_path / "a", layout="visa")
    (tmp_path / "b/split_csv").mkdir(parents=True)
    (tmp_path / "b/split_csv/1cls.csv").write_text("object,split,image\ncandle,test,x.png\n")
    with pytest.raises(DatasetError, match="missing column.*label.*mask"):
        read_dataset(tmp_path / "b", layout="visa")


def test_btad_layout(tmp_path):
    btad = tmp_path / "btad"
    _png(btad / "01/test/ok/0000.png")
    _png(btad / "01/test/ko/0001.png")
    _png(btad / "01/test/ko/0002.png")
    _png(btad / "01/ground_truth/ko/0001.png", 255)
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(btad / "01/ground_truth/ko/0002.bmp")
    _png(btad / "03/test/ok/0000.png")
    _png(btad / "03/test/ko/0005.png")  # no mask
    data = read_dataset(btad, layout="btad")
    assert list(data) == ["01", "03"]
    samples = data["01"]
    assert [(s.label, s.defect) for s in samples] == [(0, "ok"), (1, "ko"), (1, "ko")]
    assert [s.mask_path.name for s in samples[1:]] == ["0001.png", "0002.bmp"]
    assert load_mask(samples[2], (4, 4)).all()
    assert data["03"][1].mask_path is None and not data["03"][1].has_pixel_truth
    assert list(read_dataset(btad, layout="btad", categories=["03"])) == ["03"]
    # one category folder works as ROOT too, and BTAD's .bmp images are listed
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(btad / "03/test/ok/0001.bmp")
    single = read_dataset(btad / "03", layout="btad")
    assert [s.image_path.name for s in single["03"]] == ["0000.png", "0001.bmp", "0005.png"]


def test_folder_layout(tmp_path):
    folder = tmp_path / "parts"
    _png(folder / "images/a.png")
    _png(folder / "images/b.png")
    _png(folder / "images/c.png")
    _png(folder / "masks/b.png", 255)
    _png(folder / "masks/c.png", 0)  # an all-black mask: normal
    (folder / "images/notes.txt").write_text("not an image")
    samples = read_dataset(folder, layout="folder")["parts"]
    assert [(s.image_path.name, s.label) for s in samples] == [("a.png", 0), ("b.png", 1), ("c.png", 0)]
    assert samples[0].mask_path is None and samples[1].mask_path == folder / "masks/b.png"
    assert all(s.category == "parts" for s in samples)


def test_hidden_folders_are_ignored(tmp_path):
    root = tmp_path / "bottle"
    _png(root / "test/good/000.png")
    _png(root / "test/.ipynb_checkpoints/000.png")
    _png(root / "test/good/.000.png")
    samples = read_dataset(root)["bottle"]
    assert [(s.defect, s.image_path.name) for s in samples] == [("good", "000.png")]


def test_wrong_layout_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="MVTec AD layout"):
        read_dataset(tmp_path, layout="mvtec")
    with pytest.raises(DatasetError, match="1cls.csv"):
        read_dataset(tmp_path, layout="visa")
    with pytest.raises(DatasetError, match="BTAD layout"):
        read_dataset(tmp_path, layout="btad")
    with pytest.raises(DatasetError, match="folder layout.*images"):
        read_dataset(tmp_path, layout="folder")
    with pytest.raises(DatasetError, match="unknown split 'val'"):
        read_dataset(tmp_path, split="val")
    with pytest.raises(DatasetError, match="unknown layout"):
        read_dataset(tmp_path, layout="coco")
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset(tmp_path / "missing")

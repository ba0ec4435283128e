"""Small copies of the real hazelnut images (128 px) so that training tests stay fast."""

from __future__ import annotations

import cv2
import pytest

from tests.conftest import TINY
from zsad_desktop.detection.backbone import BackboneSpec
from zsad_desktop.detection.training import samples_from_dataset
from zsad_desktop.detection.training_data import TrainingSample
from zsad_desktop.imaging import read_rgb8
from zsad_desktop.imaging.masks import read_mask

SPEC = BackboneSpec(TINY, "random", image_size=112)
#: stage losses must move within a few steps: no augmentation, a larger text learning rate than the paper's
FAST = {
    "text_epochs": 3,
    "image_epochs": 3,
    "text_lr": 1e-3,
    "text_batch_size": 4,
    "image_batch_size": 4,
    "rotation": 0,
    "translate": 0,
    "flips": False,
    "colour_jitter": False,
    "seed": 0,
}
SIDE = 128


@pytest.fixture(scope="session")
def hazelnut(shared_data, tmp_path_factory) -> list[TrainingSample]:
    """The real hazelnut test images and masks at 128 px, category "hazelnut"."""
    folder = tmp_path_factory.mktemp("hazelnut128")
    out = []
    for i, s in enumerate(samples_from_dataset(shared_data / "mvtec_ad" / "hazelnut")):
        image = folder / f"{i}.png"
        cv2.imwrite(
            str(image),
            cv2.cvtColor(
                cv2.resize(read_rgb8(s.image_path), (SIDE, SIDE), interpolation=cv2.INTER_AREA),
                cv2.COLOR_RGB2BGR,
            ),
        )
        mask = None
        if s.mask_path is not None:
            mask = folder / f"{i}_mask.png"
            cv2.imwrite(
                str(mask),
                cv2.resize(
                    read_mask(s.mask_path).astype("uint8") * 255,
                    (SIDE, SIDE),
                    interpolation=cv2.INTER_NEAREST,
                ),
            )
        out.append(TrainingSample(image, mask, s.label, s.category))
    return out


@pytest.fixture(scope="session")
def split(hazelnut) -> tuple[list[TrainingSample], list[TrainingSample]]:
    """Seven images to train on; held out: one normal and two anomalous."""
    normal = [s for s in hazelnut if s.label == 0]
    anomalous = [s for s in hazelnut if s.label == 1]
    held_out = [normal[0], anomalous[0], anomalous[-1]]
    return [s for s in hazelnut if s not in held_out], held_out

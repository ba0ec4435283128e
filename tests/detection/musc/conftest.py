"""Folders of the shared sample data, shrunk, and a tiny random backbone's detectors for them."""

import numpy as np
import pytest

from tests.conftest import TINY
from tests.detection.musc.folder_data import category
from zsad_desktop.detection.interface import create_detector

FOLDERS = {"hazelnut": "mvtec_ad/hazelnut", "glass": "glass_anomaly/glass"}
BAD_PER_FOLDER = 12  # glass has 80 defective images: a sample keeps the test short


@pytest.fixture(scope="session", params=sorted(FOLDERS))
def folder(request, shared_data):
    goods, bad, masks = category(shared_data / FOLDERS[request.param])
    return request.param, goods, bad[:BAD_PER_FOLDER], masks[:BAD_PER_FOLDER]


@pytest.fixture(scope="session")
def baseline():
    return create_detector("baseline", model_name=TINY, pretrained="random", image_size=112, device="cpu")


@pytest.fixture(scope="session")
def musc(baseline):
    return create_detector("musc", backbone=baseline.backbone)


def normal_masks(images):
    return [np.zeros(image.shape[:2], bool) for image in images]

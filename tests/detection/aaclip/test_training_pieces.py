"""The shared training pieces AA-CLIP and Crane use: losses, augmented dataset, run folders."""

import json

import cv2
import numpy as np
import pytest
import torch

from tests.tolerances import assert_relative
from zsad_desktop.detection.losses import dice_loss, focal_loss
from zsad_desktop.detection.training import _prepare_work_dir, samples_from_dataset, split_samples
from zsad_desktop.detection.training_data import SegmentationDataset, TrainingSample, augmentation, mean_fill

MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def reference_focal(logit, target, gamma=2, smooth=1e-5):
    """FocalLoss.forward of the reference (alpha None, size_average)."""
    num_class = logit.shape[1]
    logit = logit.view(logit.size(0), logit.size(1), -1).permute(0, 2, 1).contiguous().view(-1, num_class)
    target = torch.squeeze(target, 1).view(-1, 1)
    alpha = torch.ones(num_class, 1)
    idx = target.cpu().long()
    one_hot_key = torch.FloatTensor(target.size(0), num_class).zero_().scatter_(1, idx, 1)
    one_hot_key = torch.clamp(one_hot_key, smooth / (num_class - 1), 1.0 - smooth)
    pt = (one_hot_key * logit).sum(1) + smooth
    alpha = torch.squeeze(alpha[idx])
    return (-1 * alpha * torch.pow((1 - pt), gamma) * pt.log()).mean()


def reference_dice(inputs, targets):
    n = targets.size()[0]
    input_flat, targets_flat = inputs.view(n, -1), targets.view(n, -1)
    eff = (2 * (input_flat * targets_flat).sum(1) + 1) / (input_flat.sum(1) + targets_flat.sum(1) + 1)
    return 1 - eff.sum() / n


@pytest.mark.reference
def test_focal_and_dice_equal_the_reference_formulas():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(3, 2, 9, 7, generator=g) * 3, dim=1)
    masks = (torch.rand(3, 9, 7, generator=g) > 0.7).float()
    # means over pixels: relative, a few float32 roundings of the whole (equal with ATEN_CPU_CAPABILITY=avx2
    # and =default)
    assert_relative(focal_loss(probs, masks), reference_focal(probs, masks[:, None]), 1e-6, "focal loss")
    assert_relative(dice_loss(probs[:, 1], masks), reference_dice(probs[:, 1], masks), 1e-6, "dice loss")
    assert_relative(
        dice_loss(probs[:, 0], 1 - masks), reference_dice(probs[:, 0], 1 - masks), 1e-6, "dice loss"
    )
    assert focal_loss(torch.stack([1 - masks, masks], 1), masks) < 1e-6  # a perfect prediction costs nothing


@pytest.fixture
def square_sample(tmp_path):
    """A black image with a white square, and the square as mask."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[10:30, 20:44] = 255
    cv2.imwrite(str(tmp_path / "img.png"), image)
    cv2.imwrite(str(tmp_path / "mask.png"), (image[..., 0] > 0).astype(np.uint8) * 255)
    return TrainingSample(tmp_path / "img.png", tmp_path / "mask.png", 1, "plate")


def test_augmentation_moves_image_and_mask_together_and_fills_with_the_mean(square_sample):
    torch.manual_seed(0)
    augment = augmentation(rotation=30, translate=0.15, p=1.0, fill=mean_fill(MEAN))
    dataset = SegmentationDataset([square_sample], 64, MEAN, STD, augment, with_info=True)
    moved = 0
    for _ in range(8):
        pixels, mask, label, info = dataset[0]
        white = (pixels[0] * STD[0] + MEAN[0]) > 0.99
        assert torch.equal(
            white, mask.bool()
        )  # nearest-neighbour sampling: the square and its mask stay aligned
        moved += int(not torch.equal(mask[10:30, 20:44], torch.ones(20, 24)))
        filled = (pixels.abs().amax(0) < 0.01).sum()  # pixels brought in from outside normalise to about zero
        assert filled > 0
    assert moved >= 6 and label == 1 and info == {"category": "plate", "mask_known": True}


def test_colour_jitter_changes_the_image_only(square_sample):
    torch.manual_seed(1)
    dataset = SegmentationDataset(
        [square_sample], 64, MEAN, STD, augmentation(rotation=0, translate=0, flips=False, colour_jitter=True)
    )
    plain = SegmentationDataset([square_sample], 64, MEAN, STD)
    changed = sum(not torch.allclose(dataset[0][0], plain[0][0]) for _ in range(6))
    assert changed >= 3 and all(torch.equal(dataset[0][1], plain[0][1]) for _ in range(3))


def test_items_without_info_are_the_three_crane_uses(square_sample, tmp_path):
    pixels, mask, label = SegmentationDataset([square_sample], 32, MEAN, STD)[0]
    assert (
        pixels.shape == (3, 32, 32) and mask.shape == (32, 32) and mask.dtype == torch.float32 and label == 1
    )
    unmasked = TrainingSample(square_sample.image_path, None, 1)
    assert SegmentationDataset([unmasked], 32, MEAN, STD, with_info=True)[0][3] == {
        "category": "",
        "mask_known": False,
    }


def test_samples_from_a_dataset_carry_their_category(shared_data):
    samples = samples_from_dataset(shared_data / "mvtec_ad")
    assert {s.category for s in samples} == {"hazelnut", "transistor"}
    assert all((s.mask_path is None) == (s.label == 0) for s in samples)
    train, held_out = split_samples(samples, 0.2)
    assert (
        len(held_out) == 4 and not set(train) & set(held_out) and len(train) + len(held_out) == len(samples)
    )
    assert {s.label for s in held_out} == {0, 1}  # stratified: the held-out image AUROC is defined


def test_an_interrupted_run_folder_is_kept_only_for_the_same_run(tmp_path):
    work = tmp_path / "m.partial"
    _prepare_work_dir(work, {"run": 1})
    (work / "text_adapter.pth").write_bytes(b"x")
    _prepare_work_dir(work, {"run": 1})
    assert (work / "text_adapter.pth").is_file()
    _prepare_work_dir(work, {"run": 2})
    assert not (work / "text_adapter.pth").exists() and json.loads((work / "run.json").read_text()) == {
        "run": 2
    }

import math
import tracemalloc
import warnings

import cv2
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from zsad_desktop.evaluation import (
    EvaluationResult,
    MetricInputError,
    UndefinedMetricWarning,
    aupro,
    dice,
    evaluate,
    f1_max,
    image_ap,
    image_auroc,
    iou,
    pixel_ap,
    pixel_auroc,
    pixel_f1_max,
)


def _random_maps(seed=0, count=6, shape=(24, 20), levels=None):
    """Masks with a few blobs each (some images normal) and maps that are higher inside the blobs."""
    rng = np.random.default_rng(seed)
    masks, maps = [], []
    for index in range(count):
        mask = np.zeros(shape, bool)
        if index % 3:
            for _ in range(rng.integers(1, 4)):
                y, x = rng.integers(0, shape[0] - 4), rng.integers(0, shape[1] - 4)
                mask[y : y + rng.integers(1, 5), x : x + rng.integers(1, 5)] = True
        amap = (rng.random(shape) + 0.6 * mask).astype(np.float32)
        if levels:  # quantise to force ties between normal and defect pixels
            amap = np.round(amap * levels) / levels
        masks.append(mask)
        maps.append(amap.astype(np.float32))
    return masks, maps


def _reference_aupro(masks, maps, limit=0.3):
    """Brute force after the MVTec AD reference: every distinct score as threshold, then cut at `limit`."""
    labels = np.concatenate([m.ravel() for m in masks])
    values = np.concatenate([a.ravel() for a in maps])
    regions = []
    for mask, amap in zip(masks, maps):
        count, numbered = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        regions += [amap[numbered == r] for r in range(1, count)]
    thresholds = np.unique(values)[::-1]
    fpr = np.array([np.mean(values[~labels] >= t) for t in thresholds])
    pro = np.array([np.mean([np.mean(r >= t) for r in regions]) for t in thresholds])
    fpr, pro = np.concatenate([[0], fpr, [1]]), np.concatenate([[0], pro, [1]])
    keep = fpr <= limit
    x, y = fpr[keep], pro[keep]
    first_beyond = np.flatnonzero(~keep)[0]
    x0, y0, x1, y1 = fpr[first_beyond - 1], pro[first_beyond - 1], fpr[first_beyond], pro[first_beyond]
    x, y = np.append(x, limit), np.append(y, y0 + (y1 - y0) * (limit - x0) / (x1 - x0))
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) / limit)


def test_image_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(labels * 0.3 + rng.random(200), 1)  # with ties
    assert image_auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert image_ap(labels, scores) == pytest.approx(average_precision_score(labels, scores))
    precision, recall, _ = precision_recall_curve(labels, scores)
    assert f1_max(labels, scores) == pytest.approx(np.nanmax(2 * precision * recall / (precision + recall)))


@pytest.mark.parametrize("levels", [None, 10])
def test_pixel_metrics_match_scikit_learn(levels):
    masks, maps = _random_maps(seed=1, levels=levels)
    labels = np.concatenate([m.ravel() for m in masks])
    values = np.concatenate([a.ravel() for a in maps])
    assert pixel_auroc(masks, maps) == pytest.approx(roc_auc_score(labels, values), abs=1e-12)
    assert pixel_ap(masks, maps) == pytest.approx(average_precision_score(labels, values), abs=1e-12)
    precision, recall, _ = precision_recall_curve(labels, values)
    expected_f1 = np.max(2 * precision * recall / np.maximum(precision + recall, 1e-300))
    assert pixel_f1_max(masks, maps) == pytest.approx(expected_f1, abs=1e-12)


@pytest.mark.parametrize("levels", [None, 10, 3])
def test_aupro_matches_brute_force_reference(levels):
    masks, maps = _random_maps(seed=2, levels=levels)
    assert aupro(masks, maps) == pytest.approx(_reference_aupro(masks, maps), abs=1e-9)
    assert aupro(masks, maps, fpr_limit=0.05) == pytest.approx(_reference_aupro(masks, maps, 0.05), abs=1e-9)
    # the binned mode approaches the exact value as the thresholds get denser
    assert aupro(masks, maps, num_thresholds=5000) == pytest.approx(aupro(masks, maps), abs=2e-3)


def test_f1_max_by_hand():
    # [1,1,0,0]: threshold 0.8 flags exactly the two anomalies -> F1 1.0
    assert f1_max([1, 1, 0, 0], [0.9, 0.8, 0.6, 0.1]) == pytest.approx(1.0)
    # [1,0,1,0]: threshold 0.9 -> P 1, R 1/2, F1 2/3; 0.6 -> P 2/3, R 1, F1 0.8; 0.1 -> P 1/2, F1 2/3
    assert f1_max([1, 0, 1, 0], [0.9, 0.8, 0.6, 0.1]) == pytest.approx(0.8)
    mask = np.array([[True, False, True, False]])
    assert pixel_f1_max([mask], [np.array([[0.9, 0.8, 0.6, 0.1]])]) == pytest.approx(0.8)


def test_image_metrics_perfect_constant_and_inverted():
    labels = [0, 0, 0, 1, 1]
    perfect = [0.1, 0.2, 0.3, 0.8, 0.9]
    for metric in (image_auroc, image_ap, f1_max):
        assert metric(labels, perfect) == 1.0
    constant = [0.5] * 5
    assert image_auroc(labels, constant) == 0.5
    assert image_ap(labels, constant) == pytest.approx(2 / 5)  # the share of anomalous images
    assert f1_max(labels, constant) == pytest.approx(2 * 0.4 / 1.4)  # everything flagged: P 2/5, R 1
    assert image_auroc(labels, [1 - s for s in perfect]) == 0.0


def test_pixel_ranking_memory_stays_near_four_bytes_per_normal_pixel():
    """No (thresholds x pixels) array and no float64 copy of every pixel: well under 16 bytes per pixel."""
    rng = np.random.default_rng(0)
    masks = [np.zeros((128, 128), bool) for _ in range(16)]
    for mask in masks[1::2]:
        mask[10:30, 20:50] = True
        mask[100:104, 100:120] = True
    maps = [rng.random(m.shape, dtype=np.float32) + 0.5 * m for m in masks]
    pixels = sum(m.size for m in masks)
    tracemalloc.start()
    try:
        evaluate([int(m.any()) for m in masks], [float(a.max()) for a in maps], masks, maps)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * pixels, peak / pixels


def test_perfect_and_constant_maps():
    mask = np.zeros((32, 32), bool)
    mask[4:10, 4:10] = True
    mask[20:30, 15:18] = True
    perfect = mask.astype(np.float32)
    constant = np.full(mask.shape, 0.5, np.float32)
    assert pixel_auroc([mask], [perfect]) == 1.0 and pixel_ap([mask], [perfect]) == 1.0
    assert pixel_f1_max([mask], [perfect]) == 1.0 and aupro([mask], [perfect]) == pytest.approx(1.0)
    assert pixel_auroc([mask], [constant]) == 0.5
    # the constant map's PRO curve is the diagonal: area 0.3^2 / 2, divided by 0.3
    assert aupro([mask], [constant]) == pytest.approx(0.15)
    inverted = 1 - perfect
    assert pixel_auroc([mask], [inverted]) == 0.0 and aupro([mask], [inverted]) == pytest.approx(0.0)


def test_aupro_weights_regions_equally_by_hand():
    """Two regions: a big one fully found, a small one missed.

    The map is 1 on the big region and 0 elsewhere. At threshold 1: FPR 0,
    PRO (1 + 0) / 2 = 0.5. At threshold 0 everything is flagged: FPR 1,
    PRO 1. Up to FPR 0.3 the curve is 0.5 + 0.5 * fpr, whose mean on
    [0, 0.3] is 0.5 + 0.075 = 0.575.
    """
    mask = np.zeros((40, 40), bool)
    mask[0:20, 0:20] = True  # 400 pixels, found
    mask[30:32, 30:32] = True  # 4 pixels, missed
    amap = np.zeros(mask.shape, np.float32)
    amap[0:20, 0:20] = 1.0
    assert aupro([mask], [amap]) == pytest.approx(0.575, abs=1e-12)
    # pixel AUROC, by contrast, is dominated by the big region
    assert pixel_auroc([mask], [amap]) > 0.99


def test_aupro_with_false_positives_by_hand():
    """One 4-pixel region half found (2 pixels at 1.0), and 2 of the 96 normal pixels also at 1.0.

    Threshold 1: FPR 2/96, PRO 0.5; threshold 0: FPR 1, PRO 1. Area up to
    0.3: the segment (0, 0) -> (2/96, 0.5), then the line from (2/96, 0.5)
    to (1, 1), cut at 0.3.
    """
    mask = np.zeros((10, 10), bool)
    mask[0, 0:4] = True
    amap = np.zeros(mask.shape, np.float32)
    amap[0, 0:2] = 1.0
    amap[9, 8:10] = 1.0
    a = 2 / 96
    y_cut = 0.5 + 0.5 * (0.3 - a) / (1 - a)
    expected = (a * 0.25 + (0.3 - a) * (0.5 + y_cut) / 2) / 0.3
    assert aupro([mask], [amap]) == pytest.approx(expected, abs=1e-12)


def test_degenerate_inputs_give_nan_with_a_reason():
    zeros = np.zeros((4, 4), bool)
    ones = np.ones((4, 4), bool)
    amap = np.random.default_rng(0).random((4, 4))
    with pytest.warns(UndefinedMetricWarning, match="image_auroc is undefined.*no normal image among 2"):
        assert math.isnan(image_auroc([1, 1], [0.2, 0.3]))
    with pytest.warns(UndefinedMetricWarning, match="image_ap.*no anomalous image among 2"):
        assert math.isnan(image_ap([0, 0], [0.2, 0.3]))
    with pytest.warns(UndefinedMetricWarning, match="image_f1_max.*no image"):
        assert math.isnan(f1_max([], []))
    cases = {  # masks -> reason
        "no defect pixel: all 16": [zeros],
        "no normal pixel: all 16": [ones],
        "no pixel has a known ground truth": [None],
    }
    for reason, masks in [*cases.items(), ("no pixel has a known", [])]:
        maps = [amap] * len(masks)
        for metric in (pixel_auroc, pixel_ap, pixel_f1_max, aupro):
            with pytest.warns(UndefinedMetricWarning, match=reason):
                assert math.isnan(metric(masks, maps)), (metric.__name__, masks)


def test_evaluate_explains_undefined_metrics_without_warning():
    zeros = np.zeros((4, 4), bool)
    amap = np.random.default_rng(0).random((4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate([0, 0], [0.1, 0.2], [zeros, zeros], [amap, amap])
    assert all(math.isnan(v) for v in result.to_dict().values())
    assert result.undefined["image_auroc"] == "no anomalous image among 2"
    assert result.undefined["pixel_aupro"].startswith("no defect pixel")
    assert set(result.undefined) == set(result.to_dict())
    mask = np.eye(4, dtype=bool)
    defined = evaluate([0, 1], [0.1, 0.2], [zeros, mask], [amap, amap])
    assert defined.undefined == {} and not any(math.isnan(v) for v in defined.to_dict().values())
    # only the pixel metrics are undefined when the masks are unknown
    image_only = evaluate([0, 1], [0.1, 0.2], [None, None], [amap, amap])
    assert set(image_only.undefined) == {"pixel_auroc", "pixel_ap", "pixel_f1_max", "pixel_aupro"}
    assert image_only.image_auroc == 1.0


def test_evaluate_ranks_pixels_once_and_leaves_unknown_masks_out():
    masks, maps = _random_maps(seed=3)
    labels = [int(m.any()) for m in masks]
    scores = [float(a.max()) for a in maps]
    result = evaluate(labels, scores, masks, maps)
    assert isinstance(result, EvaluationResult)
    assert list(result.to_dict()) == [
        "image_auroc",
        "image_ap",
        "image_f1_max",
        "pixel_auroc",
        "pixel_ap",
        "pixel_f1_max",
        "pixel_aupro",
    ]
    assert result.pixel_auroc == pixel_auroc(masks, maps) and result.pixel_aupro == aupro(masks, maps)
    assert result.image_auroc == image_auroc(labels, scores)
    # an anomalous image without pixel truth counts at image level only
    unknown = evaluate(labels + [1], scores + [0.0], masks + [None], maps + [np.zeros((24, 20), np.float32)])
    assert unknown.pixel_auroc == result.pixel_auroc and unknown.image_auroc != result.image_auroc


def test_inputs_that_cannot_be_compared_raise():
    with pytest.raises(MetricInputError, match="shape"):
        pixel_auroc([np.zeros((4, 4), bool)], [np.zeros((4, 5))])
    with pytest.raises(MetricInputError, match="NaN"):
        aupro([np.eye(3, dtype=bool)], [np.full((3, 3), np.nan)])
    with pytest.raises(MetricInputError, match="lengths differ"):
        evaluate([0, 1], [0.1, 0.2], [np.zeros((2, 2), bool)], [np.zeros((2, 2))])
    with pytest.raises(MetricInputError, match="labels"):
        image_auroc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(MetricInputError, match="0 \\(normal\\) or 1"):
        image_auroc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(MetricInputError, match="NaN"):
        f1_max([0, 1], [0.1, np.nan])
    with pytest.raises(MetricInputError, match="2-D"):
        pixel_ap([np.zeros((1, 4, 4), bool)], [np.zeros((1, 4, 4))])
    with pytest.raises(MetricInputError, match="num_thresholds"):
        aupro([np.eye(3, dtype=bool)], [np.eye(3)], num_thresholds=1)
    with pytest.raises(MetricInputError, match="fpr_limit"):
        aupro([np.eye(3, dtype=bool)], [np.eye(3)], fpr_limit=0)


def test_dice_and_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True
    b[1:3] = True
    assert dice(a, b) == pytest.approx(0.5) and iou(a, b) == pytest.approx(1 / 3)
    assert dice(a, a) == 1.0 and iou(a, ~a) == 0.0
    assert dice(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0 and iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    with pytest.raises(MetricInputError):
        dice(a, np.zeros((3, 3), bool))

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from zsad_desktop.evaluation import aupro, dice, evaluate, f1_max, image_ap, image_auroc, iou, pixel_auroc


def test_image_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = labels * 0.3 + rng.random(200)
    assert image_auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert image_ap(labels, scores) == pytest.approx(average_precision_score(labels, scores))


def test_f1_max_by_hand():
    # threshold 0.6 flags {0.9, 0.8, 0.6}: tp 2, fp 1, fn 0 -> F1 = 0.8; threshold 0.8: tp 2 -> F1 1.0
    assert f1_max([1, 1, 0, 0], [0.9, 0.8, 0.6, 0.1]) == pytest.approx(1.0)
    assert f1_max([1, 0, 1, 0], [0.9, 0.8, 0.6, 0.1]) == pytest.approx(0.8)


def test_perfect_and_constant_maps():
    mask = np.zeros((32, 32), bool)
    mask[4:10, 4:10] = True
    mask[20:30, 15:18] = True
    perfect = mask.astype(np.float32)
    constant = np.full(mask.shape, 0.5, np.float32)
    assert pixel_auroc([mask], [perfect]) == 1.0 and aupro([mask], [perfect]) == pytest.approx(1.0, abs=1e-6)
    assert pixel_auroc([mask], [constant]) == 0.5
    result = evaluate([0, 1], [0.1, 0.9], [np.zeros_like(mask), mask], [np.zeros_like(perfect), perfect])
    assert result.image_auroc == 1.0 and result.pixel_aupro == pytest.approx(1.0, abs=1e-6)


def test_aupro_weights_regions_equally_by_hand():
    """Two regions: a big one fully found, a small one missed.

    The map flags the big region (value 1) and nothing else (0). For any
    threshold in (0, 1] the FPR is 0 and PRO = (1 + 0) / 2 = 0.5; at threshold
    0 everything is flagged (FPR 1, PRO 1). Up to FPR 0.3 the curve is
    0.5 + 0.5 * fpr, whose mean on [0, 0.3] is 0.5 + 0.075 = 0.575.
    """
    mask = np.zeros((40, 40), bool)
    mask[0:20, 0:20] = True  # 400 pixels, found
    mask[30:32, 30:32] = True  # 4 pixels, missed
    amap = np.zeros(mask.shape, np.float32)
    amap[0:20, 0:20] = 1.0
    assert aupro([mask], [amap]) == pytest.approx(0.575, abs=1e-3)
    # pixel AUROC, by contrast, is dominated by the big region
    assert pixel_auroc([mask], [amap]) > 0.99


def test_degenerate_inputs_give_nan():
    assert math.isnan(image_auroc([1, 1], [0.2, 0.3]))
    assert math.isnan(aupro([np.zeros((4, 4), bool)], [np.zeros((4, 4))]))


def test_dice_and_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True
    b[1:3] = True
    assert dice(a, b) == pytest.approx(0.5) and iou(a, b) == pytest.approx(1 / 3)
    assert dice(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0

"""Per-version proposal quality from the stored proposals and final masks, checked against Dice and IoU
worked out by hand, and `zsad models list` printing the same table."""

import numpy as np
import pytest

from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.training.version_quality import table_lines, version_quality
from zsad_desktop.cli import main
from zsad_desktop.store import ReviewStatus

SIZE = (256, 256)


def _rows(first: int, last: int) -> np.ndarray:
    mask = np.zeros(SIZE, bool)
    mask[first:last] = True
    return mask


@pytest.fixture
def reviewed(workspace):
    model_versions.register_version(workspace, "m1", "baseline", {}, activate=True)
    model_versions.register_version(
        workspace,
        "m2",
        "crane",
        {},
        parent="v1",
        metrics={"held_out": {"pixel_auroc": 0.8, "image_auroc": float("nan")}},
    )
    a, b, c, d, e, f = [r.id for r in workspace.images(order="name")][:6]
    empty = np.zeros(SIZE, bool)
    # rows 0-9 proposed, rows 5-14 kept: 1280 shared of 2560 + 2560 pixels -> Dice 0.5, IoU 1280 / 3840
    record_review(
        workspace, a, ReviewStatus.CORRECTED, mask=_rows(5, 15), proposal=_rows(0, 10), model_version="m1"
    )
    record_review(
        workspace, b, ReviewStatus.CORRECTED, mask=_rows(0, 10), proposal=empty, model_version="m1"
    )  # Dice 0
    record_review(
        workspace, c, ReviewStatus.NORMAL, proposal=_rows(0, 1), model_version="m1"
    )  # a false alarm
    record_review(workspace, d, ReviewStatus.NORMAL, proposal=empty, model_version="m1")
    record_review(
        workspace, e, ReviewStatus.ACCEPTED, mask=_rows(3, 4), proposal=_rows(3, 4), model_version="m2"
    )
    record_review(
        workspace, f, ReviewStatus.SKIPPED, proposal=_rows(0, 50), model_version="m2"
    )  # not decided: not counted
    return workspace


def test_the_table_matches_dice_and_rates_worked_out_by_hand(reviewed):
    v1, v2 = version_quality(reviewed)
    assert (v1.name, v1.decided, v1.corrected, v1.normal) == ("v1", 4, 2, 2)
    assert v1.proposal_dice == pytest.approx((0.5 + 0.0) / 2)
    assert v1.proposal_iou == pytest.approx((1280 / 3840 + 0.0) / 2)
    assert (v1.false_alarm_rate, v1.accepted_rate) == (0.5, 0.0)
    assert v1.held_out_pixel_auroc is None
    assert (v2.name, v2.parent, v2.decided, v2.accepted_rate) == ("v2", "v1", 1, 1.0)
    assert (v2.proposal_dice, v2.false_alarm_rate) == (None, None)  # nothing corrected or marked normal
    assert (v2.held_out_pixel_auroc, v2.held_out_image_auroc) == (0.8, None)  # NaN shows as no figure


def test_models_list_prints_the_same_table(reviewed, capsys):
    assert main(["models", "list", str(reviewed.folder)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == table_lines(version_quality(reviewed))
    assert "proposal Dice" in printed[0] and "held-out pixel AUROC" in printed[0]
    v1 = printed[1].split()
    assert v1[:3] == ["*", "v1", "baseline"] and v1[6:10] == ["4", "0.250", "0.167", "0.500"]

"""The retraining dock: progress of the current step and one line per finished epoch."""

from zsad_desktop.detection.training import TrainingProgress
from zsad_desktop.ui.training.retrain_panel import EPOCH_LINES, RetrainPanel


def test_each_finished_epoch_adds_its_held_out_numbers(qtbot):
    panel = RetrainPanel()
    qtbot.addWidget(panel)
    panel.started("training crane on 40 reviews")
    panel.update_progress(TrainingProgress("prompts", 1, 3, 2, 5, 0.5, 30.0))
    assert panel.epochs.text() == "" and "step 2/5" in panel.detail.text()
    for epoch in range(1, EPOCH_LINES + 2):
        panel.update_progress(
            TrainingProgress(
                "prompts",
                epoch,
                9,
                5,
                5,
                0.4,
                0.0,
                metrics={"loss": 0.4, "val_pixel_auroc": 0.5 + epoch / 100},
            )
        )
    lines = panel.epochs.text().splitlines()
    assert len(lines) == EPOCH_LINES  # the oldest scrolled away
    assert (
        lines[-1]
        == f"prompts epoch {EPOCH_LINES + 1}: loss 0.400, held-out pixel AUROC {0.5 + (EPOCH_LINES + 1) / 100:.3f}"
    )
    panel.started("again")
    assert panel.epochs.text() == ""

"""The Models dialog's chart of proposal quality over versions renders offscreen, measured off the GUI thread."""

import threading
from datetime import datetime, timezone

from zsad_desktop.app.training.version_quality import VersionQuality
from zsad_desktop.ui.training.models_dialog import ModelsDialog

WHEN = datetime(2026, 12, 4, tzinfo=timezone.utc)


def _row(name, dice, auroc, actions=None):
    return VersionQuality(
        name, "crane", None, False, WHEN, 10, 5, 5, dice, dice, 0.2, 0.3, auroc, None, None, actions
    )


def test_the_dialog_draws_each_measure_over_the_versions(qtbot):
    rows = [_row("v1", 0.4, None, 7.0), _row("v2", 0.6, 0.7, 2.5), _row("v3", 0.75, 0.8)]
    threads = []

    def measure():
        threads.append(threading.current_thread())
        return rows

    dialog = ModelsDialog([], {}, measure_quality=measure)
    qtbot.addWidget(dialog)
    chart = dialog.quality_chart
    qtbot.waitUntil(
        lambda: "proposal Dice" in chart.lines and "v1" in dialog.effort_label.text(), timeout=10000
    )
    assert threads[0] is not threading.main_thread()
    assert list(chart.lines["proposal Dice"].get_ydata()) == [0.4, 0.6, 0.75]
    assert list(chart.lines["held-out pixel AUROC"].get_xdata()) == [1, 2]  # v1 has no held-out figure
    assert "held-out image AUROC" not in chart.lines
    assert [t.get_text() for t in chart.axes.get_xticklabels()] == ["v1", "v2", "v3"]
    assert dialog.effort_label.text().endswith("image: v1 7, v2 2.5, v3 -")  # v3: none counted
    dialog.show()
    image = chart.grab().toImage()
    assert not image.isNull() and image.width() >= 480
    assert (
        len({image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}) > 3
    )  # drawn, not blank

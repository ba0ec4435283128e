"""The quality of each model version's proposals, drawn over the versions (matplotlib's Qt canvas):
one line per measure of app.training.version_quality, versions oldest first on the x axis."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure

from zsad_desktop.app.training.version_quality import MEASURES, VersionQuality


class VersionQualityChart(FigureCanvasQTAgg):
    def __init__(self, parent=None):
        self.figure = Figure(figsize=(6.4, 3.0), dpi=90, layout="constrained")
        super().__init__(self.figure)
        self.setParent(parent)
        self.setMinimumSize(480, 240)
        self.axes = self.figure.add_subplot()
        self.show_rows(None)

    def show_rows(self, rows: list[VersionQuality] | None) -> None:
        """Draw `rows`; None while they are being measured."""
        axes = self.axes
        axes.clear()
        axes.set_ylim(0, 1.02)
        axes.set_ylabel("share / Dice / AUROC")
        self.lines = {}
        if not rows:
            axes.text(
                0.5,
                0.5,
                "measuring the versions…" if rows is None else "no model versions yet",
                ha="center",
                va="center",
                transform=axes.transAxes,
            )
        else:
            names = [r.name for r in rows]
            for head, attr in MEASURES:
                points = [(i, getattr(r, attr)) for i, r in enumerate(rows) if getattr(r, attr) is not None]
                if points:
                    self.lines[head] = axes.plot(*zip(*points), marker="o", label=head)[0]
            axes.set_xticks(range(len(names)), names)
            axes.set_xlabel("model version")
            if self.lines:
                axes.legend(fontsize="small", loc="best", ncols=2)
        self.draw_idle()

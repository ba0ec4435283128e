"""The gallery: lazy thumbnails for a big folder, badges and colours, sorting and filtering through the workspace."""

from datetime import datetime

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QPixmap

from zsad_desktop.app.workspace import ImageRow
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.gallery_filter_bar import FLAGGED, GalleryFilterBar
from zsad_desktop.ui.gallery_model import GalleryModel, RowRole
from zsad_desktop.ui.gallery_view import GalleryView


def _row(i, score=None, status=ReviewStatus.UNREVIEWED, rel_path="plate.png", error=None):
    return ImageRow(i, rel_path, None, None, f"{i:040x}", 64, 64, 8, "photo", error, status, score, None, datetime(2026, 1, 1))


def test_ten_thousand_images_open_without_reading_them(qtbot, tmp_path):
    cv2.imwrite(str(tmp_path / "plate.png"), np.full((300, 200, 3), 120, np.uint8))
    model = GalleryModel()
    view = GalleryView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(320, 400)
    view.show()
    qtbot.waitExposed(view)
    model.set_rows([_row(i, score=i / 10_000) for i in range(10_000)], tmp_path)
    assert model.rowCount() == 10_000
    qtbot.waitUntil(lambda: model.thumbnails.pending() == 0 and len(model.thumbnails._cache) > 0, timeout=20_000)
    loaded = len(model.thumbnails._cache)
    assert loaded < 100  # only the rows painted so far
    first = model.data(model.index(0), 1)  # DecorationRole
    assert isinstance(first, QPixmap) and max(first.width(), first.height()) == 96
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.thumbnails.pending() == 0 and model.data(model.index(9_999), 1) is not None, timeout=20_000)
    assert len(model.thumbnails._cache) < 200


def test_rows_update_in_place_and_unreadable_ones_have_no_thumbnail(qtbot, tmp_path):
    model = GalleryModel()
    model.set_rows([_row(1), _row(2, error="not an image")], tmp_path)
    assert model.data(model.index(1), 1) is None and "unreadable: not an image" in model.data(model.index(1), 3)
    changed = []
    model.dataChanged.connect(lambda a, b, roles=(): changed.append(a.row()))
    model.update_row(model.row(1)._replace(score=0.7, status=ReviewStatus.NORMAL))
    assert changed == [0] and model.index(0).data(RowRole).score == 0.7
    assert model.position(2) == 1 and model.row(3) is None and model.ids() == [1, 2]


def test_filter_bar_queries(qtbot):
    bar = GalleryFilterBar()
    qtbot.addWidget(bar)
    assert bar.query(0.5).as_arguments() == {"order": "score", "statuses": None, "min_score": None, "max_score": None}
    bar.filter.setCurrentText("Unreviewed")
    bar.sort.setCurrentText("Name")
    bar.max_score.setValue(0.8)
    query = bar.query(0.5)
    assert query.statuses == [ReviewStatus.UNREVIEWED] and query.order == "name" and query.max_score == pytest.approx(0.8)
    bar.filter.setCurrentText(FLAGGED)
    bar.min_score.setValue(0.2)
    assert bar.query(0.6).min_score == pytest.approx(0.6)  # flagged: at least the flag score


def test_window_gallery_sorts_and_filters(qtbot, tiny_prefs, hazelnut_folder, open_window):
    window = open_window(tiny_prefs, hazelnut_folder, predicted=True)
    rows = window.gallery_model.rows
    shown = window.review.image_id
    window.review.decide("normal")
    bar = window.filter_bar
    bar.sort.setCurrentText("Name")
    names = [r.rel_path for r in window.gallery_model.rows]
    assert names == sorted(names)
    bar.filter.setCurrentText("Unreviewed")
    assert window.gallery_model.rowCount() == 14 and shown not in window.gallery_model.ids()
    bar.filter.setCurrentText("Normal")
    assert window.gallery_model.ids() == [shown]
    bar.filter.setCurrentText("All images")
    bar.min_score.setValue(sorted(r.score for r in rows)[7])
    low = bar.min_score.value()  # two decimals
    assert sorted(window.gallery_model.ids()) == sorted(r.id for r in rows if r.score >= low)
    bar.min_score.setValue(0.0)
    window.settings.flag_score = sorted(r.score for r in rows)[-3]
    bar.filter.setCurrentText(FLAGGED)
    assert sorted(window.gallery_model.ids()) == sorted(r.id for r in rows if r.score >= window.settings.flag_score)
    assert "normal 1" in window.left.counts_label.text().replace("&nbsp;", " ")

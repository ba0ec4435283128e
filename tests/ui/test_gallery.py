"""The gallery: lazy thumbnails for a big folder, badges and colours, sorting and filtering through the workspace."""

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QPixmap

from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import ReviewStatus
from zsad_desktop.ui.gallery.filter_bar import FLAGGED, GalleryFilterBar
from zsad_desktop.ui.gallery.gallery_model import PAGE, GalleryModel, RowRole
from zsad_desktop.ui.gallery.gallery_view import GalleryView


def _workspace(folder, count, error_every=0):
    """`count` copies of one plate (links, so 10,000 cost nothing), scored i / count by the active model."""
    from sqlalchemy import insert

    from zsad_desktop.app.training.model_versions import register_version
    from zsad_desktop.store import Image, Prediction

    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "plate.png"), np.full((300, 200, 3), 120, np.uint8))
    images, predictions = [], []
    for i in range(count):
        (folder / f"img{i:05d}.png").symlink_to(folder / "plate.png")
        unreadable = error_every and i % error_every == error_every - 1
        images.append(
            dict(
                rel_path=f"img{i:05d}.png",
                content_hash=f"{i:040x}",
                size_bytes=1,
                mtime_ns=1,
                width=200,
                height=300,
                bit_depth=8,
                modality="photo",
                load_error="not an image" if unreadable else None,
            )
        )
        predictions.append(
            dict(image_hash=f"{i:040x}", model_version=MODEL, score=i / count, heatmap_file="-")
        )
    workspace = Workspace.open(folder)
    with workspace.database.session() as session:
        session.execute(insert(Image), images)
        session.execute(insert(Prediction), predictions)
    register_version(workspace, MODEL, "fake", {}, activate=True)
    return workspace


MODEL = "fake:v1"


def test_ten_thousand_images_open_a_page_at_a_time_without_reading_them(qtbot, tmp_path):
    workspace = _workspace(tmp_path / "plates", 10_000)
    model = GalleryModel()
    view = GalleryView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(320, 400)
    view.show()
    qtbot.waitExposed(view)
    model.set_listing(workspace.listing(), workspace.folder)
    assert model.rowCount() == PAGE and model.canFetchMore()  # one page read, not the table
    qtbot.waitUntil(
        lambda: model.thumbnails.pending() == 0 and len(model.thumbnails._cache) > 0, timeout=20_000
    )
    assert len(model.thumbnails._cache) < 100  # only the rows painted so far
    first = model.data(model.index(0), 1)  # DecorationRole
    assert isinstance(first, QPixmap) and max(first.width(), first.height()) == 96
    for _ in range(60):  # scrolling to the end asks for the next page, as a reviewer scrolling down does
        if model.rowCount() == 10_000:
            break
        view.scrollToBottom()
        qtbot.wait(20)
    model.fetchMore()  # the last page was full: one more read finds the end
    assert model.rowCount() == 10_000 and not model.canFetchMore()
    scores = [row.score for row in model.rows]
    assert scores == sorted(scores, reverse=True) and len(set(model.ids())) == 10_000  # in order, none twice
    qtbot.waitUntil(
        lambda: model.thumbnails.pending() == 0 and model.data(model.index(9_999), 1) is not None,
        timeout=20_000,
    )
    assert len(model.thumbnails._cache) < 200
    workspace.close()


def test_pages_follow_the_order_as_read_while_scores_change(qtbot, tmp_path):
    """Rows scored after a page was read are neither repeated nor skipped by the next page."""
    workspace = _workspace(tmp_path / "plates", 3 * PAGE)
    model = GalleryModel()
    model.set_listing(workspace.listing(order="name"), workspace.folder)
    for row in model.rows[-5:]:
        model.update_row(row._replace(score=0.99))  # predictions arriving for the last loaded rows
    model.load_through(2 * PAGE)
    assert model.rowCount() == 3 * PAGE and model.ids() == sorted(model.ids())
    assert [r.rel_path for r in model.rows] == [f"img{i:05d}.png" for i in range(3 * PAGE)]
    workspace.close()


def test_rows_update_in_place_and_unreadable_ones_have_no_thumbnail(qtbot, tmp_path):
    workspace = _workspace(tmp_path / "plates", 2, error_every=2)
    model = GalleryModel()
    model.set_listing(workspace.listing(order="name"), workspace.folder)
    (good, bad) = model.ids()
    assert model.data(model.index(1), 1) is None and "unreadable: not an image" in model.data(
        model.index(1), 3
    )
    changed = []
    model.dataChanged.connect(lambda a, b, roles=(): changed.append(a.row()))
    model.update_row(model.row(good)._replace(score=0.7, status=ReviewStatus.NORMAL))
    assert changed == [0] and model.index(0).data(RowRole).score == 0.7
    assert model.position(bad) == 1 and model.row(bad + 10) is None
    model.set_listing(None, None)
    assert model.rowCount() == 0 and not model.canFetchMore()
    workspace.close()


def test_filter_bar_queries(qtbot):
    bar = GalleryFilterBar()
    qtbot.addWidget(bar)
    assert bar.query(0.5).as_arguments() == {
        "order": "score",
        "statuses": None,
        "min_score": None,
        "max_score": None,
    }
    bar.filter.setCurrentText("Unreviewed")
    bar.sort.setCurrentText("Name")
    bar.max_score.setValue(0.8)
    query = bar.query(0.5)
    assert (
        query.statuses == [ReviewStatus.UNREVIEWED]
        and query.order == "name"
        and query.max_score == pytest.approx(0.8)
    )
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
    assert sorted(window.gallery_model.ids()) == sorted(
        r.id for r in rows if r.score >= window.settings.flag_score
    )
    assert "normal 1" in window.left.counts_label.text().replace("&nbsp;", " ")

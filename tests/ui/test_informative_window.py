"""Most informative first in the window: the gallery's sort menu, and the "next" key's informative mode
going to the most informative unreviewed image after each decision."""

from PySide6.QtCore import Qt

from zsad_desktop.app.review.informative_order import next_most_informative


def test_sort_menu_and_next_key_follow_the_informative_order(qtbot, tiny_prefs, hazelnut_folder, open_window):
    window = open_window(tiny_prefs, hazelnut_folder, predicted=True)
    workspace = window.session.workspace
    # the scores are computed by a queued job once the folder's predictions are in, not on the GUI thread
    qtbot.waitUntil(
        lambda: all(
            r.informativeness is not None
            for r in workspace.images(include_errors=False)
            if r.score is not None
        ),
        timeout=60_000,
    )
    window.filter_bar.sort.setCurrentText("Most informative first")
    qtbot.waitUntil(
        lambda: (
            [r.id for r in window.gallery_model.rows] == [r.id for r in workspace.images(order="informative")]
        ),
        timeout=30_000,
    )
    values = [r.informativeness for r in window.gallery_model.rows if r.informativeness is not None]
    assert values == sorted(values, reverse=True) and len(set(values)) > 1

    window.filter_bar.sort.setCurrentText(
        "Name"
    )  # another order in the gallery: the key still goes by informativeness
    window.filter_bar.next_informative.setChecked(True)
    expected = next_most_informative(workspace).id
    ids = [r.id for r in window.gallery_model.rows]
    start = next(
        p for p in range(len(ids) - 1) if expected not in ids[p : p + 2]
    )  # where the gallery's next is another image
    window.select_row(start)
    window.review.settle()
    qtbot.keyClick(window, Qt.Key.Key_J)
    assert window.review.image_id == expected
    window.review.settle()
    qtbot.keyClick(window, Qt.Key.Key_N)  # marked normal: the next is the most informative of the rest
    window.review.settle()
    assert window.review.image_id == next_most_informative(workspace).id != expected

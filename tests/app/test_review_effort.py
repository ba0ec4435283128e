"""The corrective actions of a review reach the database (the review sums its visits, each history
event keeps its own), survive a database made before they were counted, and give each model
version its median actions per corrected image in `zsad models list`."""

import numpy as np
import pytest
from sqlalchemy import select

from tests.store.test_migration_0006 import make_0005_database
from zsad_desktop.app.review.decisions import current_review, history, record_review
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.training.version_quality import table_lines, version_quality
from zsad_desktop.app.viewer.effort import Effort
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.cli import main
from zsad_desktop.store import Review, ReviewStatus, sqlite_url

SIZE = (256, 256)


def _mask(rows=slice(0, 10)):
    mask = np.zeros(SIZE, bool)
    mask[rows] = True
    return mask


def test_effort_reaches_the_review_and_its_history(workspace):
    image = workspace.images(order="name")[0].id
    first = Effort(clicks=2, brush_strokes=1)
    record_review(workspace, image, ReviewStatus.CORRECTED, mask=_mask(), effort=first)
    assert Effort.of_row(current_review(workspace, image)) == first
    record_review(
        workspace, image, ReviewStatus.CORRECTED, mask=_mask(), effort=Effort(polygon_vertices=5, snaps=1)
    )
    assert Effort.of_row(current_review(workspace, image)) == Effort(2, 1, 5, 0, 1)  # summed
    events = history(workspace, image)
    assert [e.effort for e in events] == [first, Effort(polygon_vertices=5, snaps=1)]
    record_review(workspace, image, ReviewStatus.ACCEPTED, mask=_mask())  # a script: not counted
    assert (
        Effort.of_row(current_review(workspace, image)).total == 9
        and history(workspace, image)[-1].effort is None
    )


def test_effort_survives_an_old_database_through_the_migration(hazelnut_copy, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    url = sqlite_url(data / "reviews.sqlite")
    make_0005_database(url)  # holds a review of other pixels made before actions were counted
    with Workspace.open(hazelnut_copy, data_dir=data) as workspace:
        scan(workspace)
        image = workspace.images(order="name")[0].id
        record_review(workspace, image, ReviewStatus.CORRECTED, mask=_mask(), effort=Effort(clicks=3))
    with Workspace.open(hazelnut_copy, data_dir=data) as workspace:
        assert Effort.of_row(current_review(workspace, image)) == Effort(clicks=3)
        assert workspace.database.schema_revision() == "0006"
        with workspace.database.read() as session:
            old = session.scalar(select(Review).where(Review.image_hash == "abc"))
            assert old.mask_area == 42 and Effort.of_row(old) is None


def test_each_version_shows_its_median_actions_per_corrected_image(workspace, capsys):
    model_versions.register_version(workspace, "m1", "baseline", {}, activate=True)
    model_versions.register_version(workspace, "m2", "crane", {}, parent="v1")
    a, b, c, d, e = [r.id for r in workspace.images(order="name")][:5]
    for image, effort in (
        (a, Effort(clicks=2)),
        (b, Effort(brush_strokes=3, polygon_vertices=4)),
        (c, Effort(snaps=1)),
    ):
        record_review(
            workspace,
            image,
            ReviewStatus.CORRECTED,
            mask=_mask(),
            proposal=_mask(),
            model_version="m1",
            effort=effort,
        )
    # accepted as is: no correction, so not in the median; corrected before counting: not either
    record_review(
        workspace,
        d,
        ReviewStatus.ACCEPTED,
        mask=_mask(),
        proposal=_mask(),
        model_version="m1",
        effort=Effort(),
    )
    record_review(workspace, e, ReviewStatus.CORRECTED, mask=_mask(), proposal=_mask(), model_version="m2")
    v1, v2 = version_quality(workspace)
    assert v1.median_actions == 2.0  # of 2, 7 and 1
    assert v2.median_actions is None
    assert main(["models", "list", str(workspace.folder)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == table_lines(version_quality(workspace))
    assert printed[0].endswith("actions per correction")
    assert printed[1].split()[-1] == "2" and printed[2].split()[-1] == "-"


def test_effort_counts_are_never_negative():
    with pytest.raises(ValueError, match="negative"):
        Effort(clicks=-1)

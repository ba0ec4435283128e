"""Migration 0006 adds the corrective-action counts to a 0005 database's reviews and history,
keeping the reviews there (their actions were not counted: NULL, not zero)."""

from alembic import command
from sqlalchemy import select, text

from zsad_desktop.store import Database, Review, ReviewEvent, open_database, sqlite_url
from zsad_desktop.store.database import _alembic_config

COLUMNS = (
    "effort_clicks",
    "effort_brush_strokes",
    "effort_polygon_vertices",
    "effort_removed_regions",
    "effort_snaps",
)


def make_0005_database(url: str) -> None:
    """A database as version 0005 left it, with one corrected review and its history event."""
    old = Database(url)
    with old.engine.begin() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.execute(
            text(
                "insert into reviews (image_hash, status, mask_file, model_version, updated_at, mask_area) "
                "values ('abc', 'corrected', 'masks/abc.png', 'm1', '2026-01-01', 42)"
            )
        )
        connection.execute(
            text(
                "insert into review_events (image_hash, from_status, to_status, mask_file, at, mask_area) "
                "values ('abc', NULL, 'corrected', 'masks/abc.png', '2026-01-01', 42)"
            )
        )
    old.dispose()


def test_a_0005_database_keeps_its_reviews_and_gets_empty_action_counts(tmp_path):
    url = sqlite_url(tmp_path / "old.sqlite")
    make_0005_database(url)
    upgraded = open_database(url)
    assert upgraded.schema_revision() == "0006"
    with upgraded.session() as session:
        review = session.scalars(select(Review)).one()
        event = session.scalars(select(ReviewEvent)).one()
        assert (review.status.value, review.mask_file, review.mask_area) == ("corrected", "masks/abc.png", 42)
        assert [getattr(review, c) for c in COLUMNS] == [None] * 5
        assert [getattr(event, c) for c in COLUMNS] == [None] * 5
        review.effort_clicks = 3
    with upgraded.read() as session:
        assert session.scalar(select(Review.effort_clicks)) == 3
    upgraded.dispose()


def test_0006_goes_back_down_to_0005_keeping_the_reviews(tmp_path):
    url = sqlite_url(tmp_path / "old.sqlite")
    make_0005_database(url)
    open_database(url).dispose()
    database = Database(url)
    with database.engine.begin() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
        columns = {row[1] for row in connection.execute(text("PRAGMA table_info('reviews')"))}
        assert not columns & set(COLUMNS) and "mask_area" in columns
        assert connection.execute(text("select count(*) from reviews")).scalar() == 1
    database.dispose()

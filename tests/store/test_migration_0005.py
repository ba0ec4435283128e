"""Migration 0005 adds the cached informativeness to a 0004 database's predictions, keeping them."""

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from zsad_desktop.store import Database, Prediction, open_database, sqlite_url
from zsad_desktop.store.database import _alembic_config


def test_a_0004_database_upgrades_with_its_predictions_and_no_informativeness_yet(tmp_path):
    url = sqlite_url(tmp_path / "old.sqlite")
    old = Database(url)
    with old.engine.begin() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.execute(
            text(
                "insert into predictions (image_hash, model_version, detector_input, score, heatmap_file, created_at) "
                "values ('abc', 'm1', '', 0.7, 'h.npz', '2026-01-01')"
            )
        )
    old.dispose()
    upgraded = open_database(url)
    assert upgraded.schema_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with upgraded.session() as session:
        prediction = session.scalars(select(Prediction)).one()
        assert (prediction.score, prediction.informativeness) == (0.7, None)
        prediction.informativeness = 0.25
    with upgraded.read() as session:
        assert session.scalar(select(Prediction.informativeness)) == 0.25
        indexes = {row[1] for row in session.execute(text("PRAGMA index_list('predictions')"))}
    assert "ix_predictions_model_informativeness" in indexes
    upgraded.dispose()

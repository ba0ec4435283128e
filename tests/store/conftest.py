import pytest

from zsad_desktop.store import open_database, sqlite_url


@pytest.fixture
def database(tmp_path):
    db = open_database(sqlite_url(tmp_path / "reviews.sqlite"))
    yield db
    db.dispose()

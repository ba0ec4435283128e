"""The same store against a real PostgreSQL server, started by the test when the server is installed
(`apt-get install postgresql`; CI installs it). Skipped otherwise."""

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import text

from tests.store.concurrent_writers import count_with_concurrent_writers
from zsad_desktop.store import NewerSchemaError, open_database

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name.split(".")[0]))
_names = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server():
    """(bin folder, port, run-as prefix) of a throw-away server in a temporary folder."""
    if not BIN or not os.path.exists(f"{BIN[-1]}/initdb"):
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    pytest.importorskip("psycopg2")
    bin_dir = BIN[-1]
    # PostgreSQL refuses to run as root: as root, the server runs as the postgres user in a folder it can reach.
    tmp_path = Path(tempfile.mkdtemp(prefix="zsad-pg-"))
    tmp_path.chmod(0o755)
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if run_as:
        shutil.chown(tmp_path, "postgres")
    data = tmp_path / "pg"
    subprocess.run(
        run_as + [f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "zsad"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    # The server outlives pg_ctl: its output goes to a log file, not to pipes this test would wait on.
    subprocess.run(
        run_as
        + [
            f"{bin_dir}/pg_ctl",
            "-D",
            str(data),
            "-l",
            str(tmp_path / "server.log"),
            "-o",
            f"-p {port} -k {tmp_path} -h 127.0.0.1",
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=90,
    )
    try:
        yield bin_dir, port, run_as
    finally:
        subprocess.run(
            run_as + [f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh database on the server for each test."""
    bin_dir, port, run_as = postgres_server
    name = f"reviews{next(_names)}"
    subprocess.run(
        run_as + [f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "zsad", name],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return f"postgresql+psycopg2://zsad@127.0.0.1:{port}/{name}"


def _folder(tmp_path, count=6):
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(count):
        pixels = np.full((32, 40, 3), 20 * index, np.uint8)
        cv2.imwrite(str(folder / f"{index:02d}.png"), pixels)
    return folder


def test_workspace_on_postgresql(tmp_path, postgres_url):
    from tests.app.fakes import BrightnessDetector
    from zsad_desktop.app.exports import export_report
    from zsad_desktop.app.prediction.workspace_predictions import predict_images
    from zsad_desktop.app.review.decisions import final_mask, history, record_review
    from zsad_desktop.app.training import model_versions
    from zsad_desktop.app.workspace.scanning import scan
    from zsad_desktop.app.workspace.workspace import Workspace
    from zsad_desktop.store import ReviewStatus

    folder = _folder(tmp_path)
    ws = Workspace.open(folder, db_url=postgres_url)
    assert scan(ws).added == 6 and scan(ws).unchanged == 6
    detector = BrightnessDetector()
    model_versions.register_version(ws, detector.model_id, "brightness", {}, activate=True)
    list(predict_images(ws, detector, [r.id for r in ws.images()]))
    by_score = ws.images(order="score")
    assert [r.rel_path for r in by_score] == [f"{i:02d}.png" for i in reversed(range(6))]
    mask = np.zeros((32, 40), bool)
    mask[5:9, 5:9] = True
    record_review(ws, by_score[0].id, ReviewStatus.CORRECTED, mask=mask, reviewer="team")
    record_review(ws, by_score[0].id, ReviewStatus.ACCEPTED, mask=mask, reviewer="lead")
    assert ws.next_unreviewed().id == by_score[1].id
    assert [r.id for r in ws.images(statuses=[ReviewStatus.UNREVIEWED], min_score=0.2, max_score=0.35)] == [
        r.id for r in by_score if 0.2 <= r.score <= 0.35
    ]
    model_versions.register_version(ws, "other", "brightness", {}, activate=True)
    assert model_versions.rollback(ws).name == "v1"
    ws.close()

    again = Workspace.open(folder, db_url=postgres_url)
    np.testing.assert_array_equal(final_mask(again, by_score[0].id), mask)
    assert [(h.from_status, h.to_status) for h in history(again, by_score[0].id)] == [
        (None, ReviewStatus.CORRECTED),
        (ReviewStatus.CORRECTED, ReviewStatus.ACCEPTED),
    ]
    assert again.counts()[ReviewStatus.ACCEPTED] == 1 and again.counts()[ReviewStatus.UNREVIEWED] == 5
    assert export_report(again, tmp_path / "report.csv") == 6
    again.close()


def test_newer_schema_is_refused_on_postgresql(postgres_url):
    database = open_database(postgres_url)
    with database.engine.begin() as connection:
        connection.execute(text("update alembic_version set version_num='9999_future'"))
    database.dispose()
    with pytest.raises(NewerSchemaError, match="newer version"):
        open_database(postgres_url)


def test_writers_take_turns_on_postgresql(postgres_url):
    open_database(postgres_url).dispose()
    assert count_with_concurrent_writers(postgres_url, writers=4, times=25) == 100

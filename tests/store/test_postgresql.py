"""The same store against a real PostgreSQL server, started by the test when installed."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from zsad_desktop.app.reviews import final_mask, history, record_review
from zsad_desktop.app.scanning import scan
from zsad_desktop.app.workspace import Workspace
from zsad_desktop.store import ReviewStatus

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    if not BIN:
        pytest.skip("PostgreSQL server binaries are not installed")
    bin_dir = BIN[-1]
    # PostgreSQL refuses to run as root: as root, the server runs as the postgres user in a folder it can reach.
    tmp_path = Path(tempfile.mkdtemp(prefix="zsad-pg-"))
    tmp_path.chmod(0o755)
    data = tmp_path / "pg"
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if run_as:
        shutil.chown(tmp_path, "postgres")
    subprocess.run(run_as + [f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "zsad"], check=True, capture_output=True)
    port = _free_port()
    # The server outlives pg_ctl: its output goes to a log file, not to pipes this test would wait on.
    subprocess.run(run_as + [f"{bin_dir}/pg_ctl", "-D", str(data), "-l", str(tmp_path / "server.log"), "-o",
                             f"-p {port} -k {tmp_path} -h 127.0.0.1", "-w", "-t", "60", "start"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90)
    try:
        subprocess.run(run_as + [f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "zsad", "reviews"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://zsad@127.0.0.1:{port}/reviews"
    finally:
        subprocess.run(run_as + [f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_workspace_on_postgresql(hazelnut_copy, postgres_url):
    ws = Workspace.open(hazelnut_copy, db_url=postgres_url)
    report = scan(ws)
    assert report.added > 0
    row = ws.images(order="name")[0]
    mask = np.zeros((256, 256), bool)
    mask[5:9, 5:9] = True
    record_review(ws, row.id, ReviewStatus.CORRECTED, mask=mask, reviewer="team")
    ws.close()
    again = Workspace.open(hazelnut_copy, db_url=postgres_url)
    np.testing.assert_array_equal(final_mask(again, row.id), mask)
    assert [h.to_status for h in history(again, row.id)] == [ReviewStatus.CORRECTED]
    assert again.counts()[ReviewStatus.CORRECTED] == 1
    again.close()

"""A real two-node Ray cluster on this machine (loopback only), driven by the README's own commands:
`ray start --head`, `ray start --address` for a second node, `ray job submit -- zsad predict ...` into
PostgreSQL, the window's Ray Client path (ray://), and the second node's raylet killed mid-run."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import pytest
from sqlalchemy import func, select

from tests.app.cluster_fixtures import TINY_SETTINGS, new_postgres_url, postgres_server  # noqa: F401
from tests.conftest import DATA, REPO_ROOT, TINY
from tests.store.test_postgresql import _free_port
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Image, Prediction

pytestmark = pytest.mark.timeout(900)
RAY = Path(sys.executable).parent / "ray"
TINY_OPTIONS = f"--model-name {TINY} --pretrained random --image-size 112 --device cpu"


def _run(args: list[str], env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def _processes_under(marker: str) -> list[int]:
    """Ids of this machine's processes whose command line names `marker` (our cluster's own paths)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return [pid for pid in found if pid != os.getpid()]


# Slow, and run in a pytest process of their own (`-m slow`): a process that ran an in-process Ray
# earlier (the other cluster tests' `ray.init`) was seen to exit silently while these started a cluster.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster():
    """A head (2 CPUs, the dashboard for Ray Jobs, a Ray Client server) and a second node (1 CPU)."""
    pytest.importorskip("ray")
    if not RAY.exists():
        pytest.skip(f"the ray command is not installed beside {sys.executable}")
    root = Path(tempfile.mkdtemp(prefix="zr", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    head_dir, node_dir = root / "h", root / "n"
    port, dashboard, client, node_port = (_free_port() for _ in range(4))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),  # the workers import this tree (and the tests' detectors)
        "PATH": f"{RAY.parent}:{os.environ.get('PATH', '')}",
        "HF_HUB_OFFLINE": "1",
        "RAY_ADDRESS": "",
        # Loopback only; with tokens on, Ray 2.60's Ray Client could not start its per-client server.
        "RAY_AUTH_MODE": "disabled",
        "RAY_health_check_period_ms": "1000",  # a killed node is declared dead in seconds
        "RAY_health_check_failure_threshold": "3",
    }
    common = ["--node-ip-address=127.0.0.1", "--object-store-memory=100000000", "--disable-usage-stats"]

    def own_ports() -> list[str]:
        # Ray's fixed defaults (52365 for the dashboard agent, ...) clash with any other Ray on this
        # machine; a head whose agent cannot bind never accepts a job.
        names = ("dashboard-agent-listen", "dashboard-agent-grpc", "runtime-env-agent", "metrics-export")
        return [f"--{name}-port={_free_port()}" for name in names]

    head = _run(
        [str(RAY), "start", "--head", f"--port={port}", f"--ray-client-server-port={client}", "--num-cpus=2"]
        + [f"--dashboard-port={dashboard}", "--dashboard-host=127.0.0.1", f"--temp-dir={head_dir}", *common]
        + own_ports(),
        env,
    )
    assert head.returncode == 0, head.stderr[-2000:]
    try:
        node = _run(
            [
                str(RAY),
                "start",
                f"--address=127.0.0.1:{port}",
                "--num-cpus=1",
                f"--node-manager-port={node_port}",
            ]
            + [f"--temp-dir={node_dir}", *common]
            + own_ports(),
            env,
        )
        assert node.returncode == 0, node.stderr[-2000:]
        yield {
            "env": env,
            "jobs": f"http://127.0.0.1:{dashboard}",
            "client": f"ray://127.0.0.1:{client}",
            "node_port": node_port,
            "gcs": f"127.0.0.1:{port}",
            "root": root,
        }
    finally:
        for pid in _processes_under(str(root)):  # ours only: never `ray stop`, which stops every Ray here
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(root, ignore_errors=True)


def _folder(tmp_path: Path, count: int) -> Path:
    """`count` distinct images (one pixel changed each): distinct hashes, each scored once."""
    source = DATA / "mvtec_ad" / "hazelnut" / "test" / "good" / "000.png"
    if not source.is_file():
        pytest.skip(f"sample data not found at {source}")
    folder = tmp_path / "images"
    folder.mkdir()
    pixels = cv2.resize(cv2.imread(str(source)), (128, 128))
    for index in range(count):
        pixels[0, 0] = (index, 0, 7)
        cv2.imwrite(str(folder / f"{index:03d}.png"), pixels)
    return folder


def _submit(cluster, folder: Path, db: str, *extra: str, wait: bool = True):
    """The README's command: the driver runs on the cluster, `--cluster auto` finds it there."""
    command = [str(RAY), "job", "submit", f"--address={cluster['jobs']}"]
    command += [] if wait else ["--no-wait"]
    command += [
        "--",
        "zsad",
        "predict",
        str(folder),
        "--cluster",
        "auto",
        "--db",
        db,
        *TINY_OPTIONS.split(),
        *extra,
    ]
    for _ in range(90):  # the head's job agent may still be starting (minutes on a loaded machine)
        done = _run(command, cluster["env"], timeout=400)
        if "No available agent to submit job" not in done.stdout + done.stderr:
            return done
        time.sleep(2)
    return done


def _per_image(db: str) -> dict[str, int]:
    with _database(db) as database:
        with database.read() as session:
            rows = session.execute(
                select(Image.rel_path, func.count(Prediction.id))
                .outerjoin(Prediction, Prediction.image_hash == Image.content_hash)
                .group_by(Image.rel_path)
            ).all()
    return dict(rows)


class _database:
    def __init__(self, url: str):
        from zsad_desktop.store import open_database

        self.database = open_database(url)

    def __enter__(self):
        return self.database

    def __exit__(self, *exc):
        self.database.engine.dispose()


def _prediction_ids(db: str) -> list[int]:
    with _database(db) as database, database.read() as session:
        return list(session.scalars(select(Prediction.id).order_by(Prediction.id)))


def test_the_readme_commands_score_a_folder_with_a_ray_job(ray_cluster, new_postgres_url, tmp_path):
    folder, db = _folder(tmp_path, 6), new_postgres_url()

    job = _submit(ray_cluster, folder, db, "--workers", "2")

    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    assert "6 images scored, 0 already done, 0 failed" in job.stdout + job.stderr
    assert set(_per_image(db).values()) == {1} and len(_per_image(db)) == 6


def test_the_window_scores_through_ray_client(ray_cluster, new_postgres_url, tmp_path, monkeypatch):
    import threading

    from zsad_desktop.app.cluster.workspace_job import cluster_work
    from zsad_desktop.app.review.detector_settings import DetectorSettings
    from zsad_desktop.app.workspace.scanning import scan

    folder, db = _folder(tmp_path, 4), new_postgres_url()
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    settings = DetectorSettings(model_name=TINY, pretrained="random", image_size=112, device="cpu")
    seen: list[tuple[int, int]] = []
    with Workspace.open(folder, db_url=db, data_dir=tmp_path / "data") as workspace:
        scan(workspace)
        work = cluster_work(workspace, settings, ray_cluster["client"])
        result = work(lambda done, total: seen.append((done, total)), threading.Event())

    assert (result.scored, len(result.failed)) == (4, 0) and seen[-1] == (4, 4)
    assert set(_per_image(db).values()) == {1}


@pytest.mark.slow
def test_a_node_lost_mid_run_leaves_every_image_scored_once(ray_cluster, new_postgres_url, tmp_path):
    images = 96  # enough that the head's actor alone is still busy once the node's actor is up
    folder, db = _folder(tmp_path, images), new_postgres_url()
    # Right after the Ray Client test, 2 of the 3 CPUs were still held for a moment (its run's actors
    # going away) and Ray Data started one actor, on the head: this test needs one on the node it kills.
    _wait_until_idle(ray_cluster, cpus=3, deadline=time.monotonic() + 120)
    submitted = _submit(ray_cluster, folder, db, "--workers", "2", "--chunk-size", "2", wait=False)
    assert submitted.returncode == 0, submitted.stderr[-2000:]
    job_id = submitted.stdout.split("raysubmit_")[1].split()[0].strip("'\".")
    deadline = time.monotonic() + 600
    # The node's actor may still be starting when the first rows land (twice under load only the head's
    # was up, and no restart followed the kill): wait until it is up, so the kill takes a running actor.
    placed: list[str] = []
    while (
        "node (ALIVE)" not in placed
        and len(_prediction_ids_safe(db)) < images
        and time.monotonic() < deadline
    ):
        time.sleep(0.5)
        placed = _stage_nodes(ray_cluster, "ScoringStage")
    raylets = [
        pid for pid in _processes_under(f"--node_manager_port={ray_cluster['node_port']}") if _is_raylet(pid)
    ]
    assert raylets, "the second node's raylet was not found"
    for pid in raylets:
        os.kill(pid, signal.SIGKILL)
    killed_with = len(_prediction_ids_safe(db))
    status = _wait_for_job(ray_cluster, f"raysubmit_{job_id}", deadline)
    logs = _job_logs(ray_cluster, f"raysubmit_{job_id}")

    # Ray restarted the lost node's actor on the head and retried its batches: the run went on.
    assert "node (ALIVE)" in placed, f"no scoring actor ran on the second node: {placed}"
    assert killed_with < images, "the run had finished before the node was killed"
    assert _restarts(ray_cluster, "ScoringStage") >= 1, f"the lost node's actor was not restarted: {placed}"
    assert status == "SUCCEEDED", logs[-3000:]
    assert len(_per_image(db)) == images and set(_per_image(db).values()) == {1}  # each image exactly once
    before = _prediction_ids(db)
    again = _submit(ray_cluster, folder, db, "--workers", "1")
    assert f"0 images scored, {images} already done" in again.stdout + again.stderr, (
        again.stdout + again.stderr
    )[-2000:]
    assert _prediction_ids(db) == before  # the rerun recomputed nothing


def _restarts(cluster, stage: str) -> int:
    """How many times Ray restarted the actors of the stage (Ray's state API, through the dashboard)."""
    from ray.util.state import list_actors

    actors = list_actors(address=cluster["jobs"], detail=True, limit=1000, raise_on_missing_output=False)
    return sum(actor.num_restarts for actor in actors if stage in actor.class_name)


def _wait_until_idle(cluster, cpus: int, deadline: float) -> None:
    """Until `ray status` shows the cluster's CPUs all there and none in use."""
    usage: re.Match | None = None
    while time.monotonic() < deadline:
        status = _run([str(RAY), "status", f"--address={cluster['gcs']}"], cluster["env"], timeout=60)
        usage = re.search(r"([\d.]+)/([\d.]+) CPU", status.stdout)
        if usage and float(usage[1]) == 0 and float(usage[2]) == cpus:
            return
        time.sleep(1)
    raise AssertionError(f"the cluster did not become idle: {usage[0] if usage else status.stdout[-500:]}")


def _stage_nodes(cluster, stage: str) -> list[str]:
    """Where the stage's actors that are not dead are: "head", "node" or "unplaced" for each."""
    from ray.util.state import list_actors, list_nodes

    nodes = list_nodes(address=cluster["jobs"], raise_on_missing_output=False)
    heads = {node.node_id for node in nodes if node.is_head_node}
    actors = list_actors(address=cluster["jobs"], detail=True, limit=1000, raise_on_missing_output=False)
    return [
        f"{'head' if actor.node_id in heads else 'node' if actor.node_id else 'unplaced'} ({actor.state})"
        for actor in actors
        if stage in actor.class_name and actor.state != "DEAD"
    ]


def _is_raylet(pid: int) -> bool:
    try:
        return "raylet" in Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return False


def _prediction_ids_safe(db: str) -> list[int]:
    try:
        return _prediction_ids(db)
    except Exception:  # noqa: BLE001 - the tables appear once the job's driver made the workspace
        return []


def _wait_for_job(cluster, job_id: str, deadline: float) -> str:
    from ray.job_submission import JobSubmissionClient

    jobs = JobSubmissionClient(cluster["jobs"])
    while time.monotonic() < deadline:
        status = jobs.get_job_status(job_id)
        if status.is_terminal():
            return str(status.value)
        time.sleep(1)
    return "still running"


def _job_logs(cluster, job_id: str) -> str:
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(cluster["jobs"]).get_job_logs(job_id)

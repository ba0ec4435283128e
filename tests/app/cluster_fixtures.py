"""Fixtures of the cluster tests: one local Ray (2 CPUs) and one PostgreSQL server per module, and a
copy of the hazelnut test images with one truncated file (its header reads, its pixels do not)."""

from __future__ import annotations

import itertools
import shutil
import subprocess

import pytest

from tests.conftest import DATA, TINY
from tests.store.test_postgresql import postgres_server  # noqa: F401  (the store tests' throw-away server)

TINY_SETTINGS = {"model_name": TINY, "pretrained": "random", "image_size": 112}
_databases = itertools.count(1)


@pytest.fixture(scope="module")
def local_ray():
    """Ray with few resources, shut down after the module; the code under test finds it running."""
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 1024 * 1024,
        log_to_driver=False,
        address="local",
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def new_postgres_url(postgres_server):  # noqa: F811
    """Makes a fresh database on the module's server for each call."""
    bin_dir, port, run_as = postgres_server

    def make() -> str:
        name = f"cluster{next(_databases)}"
        subprocess.run(
            run_as + [f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "zsad", name],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return f"postgresql+psycopg2://zsad@127.0.0.1:{port}/{name}"

    return make


@pytest.fixture(scope="module")
def hazelnut_folder(tmp_path_factory):
    source = DATA / "mvtec_ad" / "hazelnut" / "test"
    if not source.is_dir():
        pytest.skip(f"sample data not found at {source}")
    target = tmp_path_factory.mktemp("cluster") / "hazelnut"
    shutil.copytree(source, target)
    whole = (target / "good" / "000.png").read_bytes()
    (target / "good" / "truncated.png").write_bytes(whole[: len(whole) // 3])
    return target


def tiny_recipe():
    from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe

    return DetectorRecipe("baseline", dict(TINY_SETTINGS), device="cpu")

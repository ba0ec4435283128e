"""Cluster scoring against the single-process path, and against an earlier revision's cluster path
on the same images: images/s and the per-image costs that bound it.

Writes a folder of distinct copies of the hazelnut test images (one pixel changed each), then scores
it (1) in this process (`predict_images`, the path of the window and of `zsad scan --predict`), at
the default torch threads and at 1 thread (what each CPU actor gets), (2) on a local Ray with 1
worker and with 2 workers, each run into a fresh workspace database in a process of its own. With
--compare-rev, the runs of this tree and of that git revision alternate on the same folder (ABBA
order), --repeats times each (with --db, the revision's runs use a database of their own beside it,
created on the same server, so each code keeps the schema it knows); a loaded machine moves from one
minute to the next, so each code's median is printed with the spread of its runs. For the cluster it
prints the whole run (from the call on a started local Ray: learning the model, actors starting and
loading it, scoring, committing) and the steady rate (from the first batch back to the last). Then
the per-image costs of the steps a worker does, measured one by one in this process: read + decode,
forward pass, heatmap file, database row (committed in batches, as the workers do), and the round
trip of a batch to an actor that finds it all stored (the cluster's own cost). One line per
measurement.

    python bench/cluster.py [--images 48] [--db postgresql+psycopg2://...] [--compare-rev REV] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from sqlalchemy import text

from zsad_desktop.app.cluster.cluster_run import ClusterChoice, score_on_cluster
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.work_plan import plan_work
from zsad_desktop.app.prediction.workspace_predictions import predict_images
from zsad_desktop.app.workspace.detector_input import WorkspaceInput
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.imaging import load_image

HAZELNUT = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvtec_ad" / "hazelnut" / "test"


def write_folder(folder: Path, count: int) -> None:
    sources = sorted(HAZELNUT.rglob("*.png"))
    folder.mkdir(parents=True)
    for index in range(count):
        pixels = cv2.imread(str(sources[index % len(sources)]), cv2.IMREAD_COLOR)
        pixels[0, 0] = (index % 256, index // 256 % 256, 7)  # distinct content, distinct hash
        cv2.imwrite(str(folder / f"{index:05d}.png"), pixels)


def fresh_workspace(folder: Path, root: Path, name: str, db: str | None) -> Workspace:
    data = root / name
    if db:  # one schema per run would need createdb; empty the shared tables instead
        with Workspace.open(folder, db_url=db, data_dir=data) as old:
            with old.database.session() as session:
                session.execute(text("DELETE FROM predictions"))
    workspace = Workspace.open(folder, db_url=db, data_dir=data)
    scan(workspace)
    return workspace


def single_process(folder: Path, root: Path, recipe: DetectorRecipe, db: str | None, threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    workspace = fresh_workspace(folder, root, f"single{threads}", db)
    detector = recipe.build()
    ids = [row.id for row in workspace.images()]
    start = time.perf_counter()
    count = sum(1 for _ in predict_images(workspace, detector, ids))
    seconds = time.perf_counter() - start
    workspace.close()
    print(
        f"single process, {threads} torch thread(s), model loaded beforehand: {count} images in {seconds:.1f} s "
        f"= {count / seconds:.2f} images/s"
    )
    return seconds / count


def on_cluster(folder: Path, root: Path, args, workers: int, tree: Path | None, run: int) -> dict:
    """One cluster run in a process of its own (`tree`: another revision's code): its figures."""
    name = f"cluster{workers}-{'this' if tree is None else 'rev'}-{run}"
    command = [sys.executable, __file__, "--one-run", str(workers), "--folder", str(folder)]
    command += ["--data", str(root / name), *_passed_on(args, revision=tree is not None)]
    code_root = str(tree or Path(__file__).resolve().parents[1])
    # Ray's workers import from the driver's working directory before PYTHONPATH: both are that code's.
    env = {**os.environ, "PYTHONPATH": code_root}
    done = subprocess.run(command, env=env, cwd=code_root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the cluster run failed ({command}):\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    code = "this tree" if tree is None else f"revision {args.compare_rev}"
    print(
        f"  run {run + 1}, {code}, {workers} worker(s): {figures['scored']} images, whole run "
        f"{figures['seconds']:.1f} s, steady {figures['steady_rate']:.2f} images/s",
        flush=True,
    )
    return figures


def _passed_on(args, revision: bool = False) -> list[str]:
    """The options a child run needs: the database, the model and Ray's CPUs. Another revision's runs
    get a database of their own on the same server: each code keeps the schema it knows."""
    passed = ["--model-name", args.model_name, "--pretrained", args.pretrained]
    passed += ["--image-size", str(args.image_size), "--device", args.device, "--cpus", str(args.cpus)]
    if not args.db:
        return passed
    return passed + ["--db", database_beside(args.db, "_revision") if revision else args.db]


def database_beside(url: str, suffix: str) -> str:
    """A database named after the one at `url` (plus `suffix`) on its server, created if missing."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}{suffix}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def compare(folder: Path, root: Path, args, per_single: float) -> None:
    """Each code's runs interleaved on the same images (the order turned each repeat, so a machine
    that gets busier or quieter during the bench weighs on both alike); the median of the repeats,
    with their spread."""
    trees: dict[str, Path | None] = {"this tree": None}
    if args.compare_rev:
        trees[f"revision {args.compare_rev}"] = revision_tree(args.compare_rev, root)
    for workers in args.workers:
        runs: dict[str, list[dict]] = {code: [] for code in trees}
        for repeat in range(args.repeats):
            order = list(trees) if repeat % 2 == 0 else list(reversed(trees))
            for code in order:
                runs[code].append(on_cluster(folder, root, args, workers, trees[code], repeat))
        medians = {}
        for code, figures in runs.items():
            steady = sorted(f["steady_rate"] for f in figures)
            whole = sorted(f["seconds"] for f in figures)
            medians[code] = statistics.median(steady)
            print(
                f"cluster ({code}), {workers} worker(s), {len(figures)} runs: steady median "
                f"{medians[code]:.2f} images/s (spread {steady[0]:.2f} to {steady[-1]:.2f}); whole run "
                f"median {statistics.median(whole):.1f} s ({whole[0]:.1f} to {whole[-1]:.1f})"
            )
            if workers == 1:
                per_one = 1 / medians[code]
                print(
                    f"  overhead per image, 1 worker against the single process at 1 thread: "
                    f"{(per_one - per_single) * 1000:+.1f} ms ({per_one / per_single:.2f}x)"
                )
        if len(medians) == 2:
            this, other = medians.values()
            print(
                f"  {workers} worker(s): this tree's median steady rate is {this / other:.2f}x the revision's"
            )


def start_local_ray(ray, cpus: int) -> None:
    """A fresh local Ray of `cpus` CPU slots, quiet, as each measured run starts it."""
    ray.init(
        num_cpus=cpus,
        include_dashboard=False,
        object_store_memory=200 * 1024 * 1024,
        log_to_driver=False,
        address="local",
    )


def one_run(args) -> None:
    """The child of `on_cluster`: a local Ray, one run, its figures as one JSON line."""
    import ray

    start_local_ray(ray, args.cpus)
    start = time.perf_counter()
    workspace = fresh_workspace(args.folder, args.data.parent, args.data.name, args.db)
    marks: list[tuple[float, int]] = []
    result = score_on_cluster(
        workspace,
        recipe_of(args),
        ClusterChoice(workers=args.one_run),
        progress=lambda p: p.done and marks.append((time.perf_counter(), p.done)),
    )
    seconds = time.perf_counter() - start
    workspace.close()
    ray.shutdown()
    (t0, d0), (t1, d1) = marks[0], marks[-1]  # from the first batch back to the last
    print(
        json.dumps(
            {"scored": result.scored, "seconds": seconds, "steady_rate": (d1 - d0) / max(t1 - t0, 1e-9)}
        )
    )


def recipe_of(args) -> DetectorRecipe:
    return DetectorRecipe(
        "baseline",
        {"model_name": args.model_name, "pretrained": args.pretrained, "image_size": args.image_size},
        device=args.device,
    )


def revision_tree(rev: str, root: Path) -> Path:
    """The package and resources of git revision `rev`, unpacked under `root`."""
    tree = root / "revision"
    tree.mkdir()
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev, "zsad_desktop", "resources"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def step_costs(ray, folder: Path, root: Path, recipe: DetectorRecipe, db: str | None, chunk: int) -> None:
    """Per image: what a worker spends reading, scoring, writing the heatmap and committing the row
    (in this process, at the last single-process run's thread count)."""
    # Here, not at the top: a run of another revision imports this file with that revision's package.
    from zsad_desktop.app.cluster.batch_commit import ItemOutcome, commit_batch
    from zsad_desktop.app.cluster.scoring_worker import ScoringWorker

    workspace = fresh_workspace(folder, root, "steps", db)
    worker = ScoringWorker(recipe, str(folder), workspace.database.url, str(workspace.files.root))
    facts = worker.describe()
    items = plan_work(workspace, facts.model_id, WorkspaceInput.of(workspace, facts.input_size)).items
    start = time.perf_counter()
    images = [
        item.source.detector_input.to_rgb8(load_image(item.source.path, item.source.frame)) for item in items
    ]
    read = (time.perf_counter() - start) / len(images)
    start = time.perf_counter()
    detections = [
        d
        for i in range(0, len(images), facts.batch_size)
        for d in worker.detector.predict(images[i : i + facts.batch_size])
    ]
    forward = (time.perf_counter() - start) / len(images)
    start = time.perf_counter()
    files = [
        workspace.files.write_heatmap(item.image_hash, facts.model_id, d.heatmap)
        for item, d in zip(items, detections)
    ]
    write = (time.perf_counter() - start) / len(files)
    outcomes = [
        ItemOutcome(i.image_hash, i.key, i.image_ids, str(i.source.path), d.score, f)
        for i, d, f in zip(items, detections, files)
    ]
    start = time.perf_counter()
    for begin in range(0, len(outcomes), chunk):
        commit_batch(workspace, facts.model_id, outcomes[begin : begin + chunk])
    commit = (time.perf_counter() - start) / len(outcomes)
    # The cluster's own cost: a chunk sent to an actor and its outcomes back, every item found stored
    # (so no scoring): task dispatch, pickling both ways and the actor's one lookup of the chunk.
    actor = (
        ray.remote(ScoringWorker)
        .options(num_cpus=1)
        .remote(recipe, str(folder), workspace.database.url, str(workspace.files.root))
    )
    ray.get(actor.describe.remote())
    chunks = [items[begin : begin + chunk] for begin in range(0, len(items), chunk)]
    start = time.perf_counter()
    for part in chunks:
        assert not any(o.computed for o in ray.get(actor.score.remote(part)))
    round_trip = (time.perf_counter() - start) / len(items)
    ray.kill(actor)
    workspace.close()
    side = images[0].shape
    print(
        f"per image ({side[1]}x{side[0]} PNG, {facts.model_id}, batch {facts.batch_size}): read+decode {read * 1000:.1f} ms, "
        f"forward {forward * 1000:.1f} ms, heatmap file {write * 1000:.1f} ms, row committed in chunks of {chunk} "
        f"{commit * 1000:.2f} ms ({'SQLite' if not db else 'PostgreSQL'}); Ray round trip of a chunk "
        f"(dispatch, pickling, the actor's lookup) {round_trip * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--db", help="a PostgreSQL URL (its predictions table is emptied before each run)")
    parser.add_argument("--model-name", default="ZSAD-Tiny-ViT-14")
    parser.add_argument("--pretrained", default="random")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--chunk", type=int, default=4, help="rows per commit in the per-image costs")
    parser.add_argument("--compare-rev", help="also run the cluster path of this git revision (e.g. main)")
    parser.add_argument("--repeats", type=int, default=3, help="cluster runs of each code and worker count")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run")
    parser.add_argument("--one-run", type=int, help=argparse.SUPPRESS)  # a child process: workers
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        one_run(args)
        return
    import ray
    import torch

    recipe = recipe_of(args)
    root = Path(tempfile.mkdtemp(prefix="zsad-cluster-bench-"))
    try:
        folder = root / "images"
        write_folder(folder, args.images)
        default_threads = torch.get_num_threads()
        if default_threads != 1:
            single_process(folder, root, recipe, args.db, default_threads)
        # What one Ray actor on one CPU slot runs with (Ray sets OMP_NUM_THREADS to the actor's CPUs).
        per_single = single_process(folder, root, recipe, args.db, 1)
        compare(folder, root, args, per_single)
        start_local_ray(ray, args.cpus)
        try:
            step_costs(ray, folder, root, recipe, args.db, args.chunk)
        finally:
            ray.shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

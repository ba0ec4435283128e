"""Cluster scoring against the single-process path: images/s and the per-image costs that bound it.

Writes a folder of distinct copies of the hazelnut test images (one pixel changed each), then scores
it (1) in this process (`predict_images`, the path of the window and of `zsad scan --predict`), at the
default torch threads and at 1 thread (what each CPU actor gets), (2) on a local Ray with 1 worker and
(3) with 2 workers, each into a fresh workspace database. For the cluster it
prints the whole run (actors starting and loading the model included) and the steady rate (from the
first chunk handed out to the last row committed). Then the per-image costs of the steps a worker
does, measured one by one in this process: read + decode, forward pass, heatmap file, database row
(committed in chunks, as the workers do), and the round trip of a chunk to an actor that finds it all
stored (the cluster's own cost). One line per measurement.

    python bench/cluster.py [--images 48] [--db postgresql+psycopg2://...] [--model-name ...] [--image-size 112]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
from sqlalchemy import text

from zsad_desktop.app.cluster.cluster_run import ClusterChoice, score_on_cluster
from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe
from zsad_desktop.app.cluster.scoring_worker import ItemOutcome, ScoringWorker
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


def on_cluster(ray, folder: Path, root: Path, recipe: DetectorRecipe, db: str | None, workers: int) -> float:
    workspace = fresh_workspace(folder, root, f"cluster{workers}", db)
    marks: list[float] = []
    result = score_on_cluster(
        workspace,
        recipe,
        ClusterChoice(workers=workers),
        progress=lambda p: marks.append(time.perf_counter()),
    )
    workspace.close()
    steady = marks[-1] - marks[0]
    print(
        f"cluster, {workers} worker(s): {result.scored} images, whole run {result.seconds:.1f} s "
        f"({result.scored / result.seconds:.2f} images/s), steady {steady:.1f} s = {result.scored / steady:.2f} images/s "
        f"(start-up: actors and model loading {result.seconds - steady:.1f} s)"
    )
    return steady / result.scored


def step_costs(ray, folder: Path, root: Path, recipe: DetectorRecipe, db: str | None, chunk: int) -> None:
    """Per image: what a worker spends reading, scoring, writing the heatmap and committing the row
    (in this process, at the last single-process run's thread count)."""
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
        worker._commit(facts.model_id, outcomes[begin : begin + chunk])
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
    args = parser.parse_args()
    import ray
    import torch

    recipe = DetectorRecipe(
        "baseline",
        {"model_name": args.model_name, "pretrained": args.pretrained, "image_size": args.image_size},
        device=args.device,
    )
    root = Path(tempfile.mkdtemp(prefix="zsad-cluster-bench-"))
    try:
        folder = root / "images"
        write_folder(folder, args.images)
        default_threads = torch.get_num_threads()
        if default_threads != 1:
            single_process(folder, root, recipe, args.db, default_threads)
        # What one Ray actor on one CPU slot runs with (Ray sets OMP_NUM_THREADS to the actor's CPUs).
        per_single = single_process(folder, root, recipe, args.db, 1)
        ray.init(
            num_cpus=args.cpus,
            include_dashboard=False,
            object_store_memory=200 * 1024 * 1024,
            log_to_driver=False,
            address="local",
        )
        try:
            per_one = on_cluster(ray, folder, root, recipe, args.db, 1)
            on_cluster(ray, folder, root, recipe, args.db, 2)
            print(
                f"cluster overhead per image, 1 worker against the single process at 1 thread: "
                f"{(per_one - per_single) * 1000:+.1f} ms ({per_one / per_single:.2f}x)"
            )
            step_costs(ray, folder, root, recipe, args.db, args.chunk)
        finally:
            ray.shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

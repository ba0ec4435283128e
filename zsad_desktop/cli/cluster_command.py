"""`zsad predict FOLDER --cluster auto|ray://HOST:PORT [--db URL]`: the folder's workspace scored on Ray."""

from __future__ import annotations

import argparse
import sys


def add_cluster_options(predict: argparse.ArgumentParser) -> None:
    group = predict.add_argument_group(
        "on a Ray cluster (pip install -e '.[cluster]'): predictions go into the folder's review workspace, "
        "seen with the workspace's detector-input settings, instead of --out"
    )
    group.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="'auto' (the cluster of the Ray job this runs in, under `ray job submit`; else a local Ray on "
        "this machine) or ray://HOST:PORT of a running cluster (Ray Client)",
    )
    group.add_argument(
        "--db",
        help="the workspace database every worker reaches, e.g. postgresql+psycopg2://user@host/reviews "
        "(default with --cluster auto: FOLDER/.zsad/reviews.sqlite)",
    )
    group.add_argument(
        "--workers", type=int, help="actors (default: one per GPU of the cluster, else one per CPU)"
    )
    group.add_argument(
        "--chunk-size",
        type=int,
        help="images per batch, one transaction, what a lost worker loses (default: 16, fewer for a small folder)",
    )
    group.add_argument(
        "--retry-failed",
        action="store_true",
        help="score again the images earlier runs recorded as failed (unreadable, or crashing their worker)",
    )


def cmd_cluster_predict(args: argparse.Namespace) -> int:
    from zsad_desktop.app.cluster.cluster_run import ClusterChoice, score_on_cluster
    from zsad_desktop.app.cluster.ray_engine import AUTO, require_ray
    from zsad_desktop.app.training import model_versions
    from zsad_desktop.app.workspace.detector_input import InputChoice
    from zsad_desktop.app.workspace.scanning import scan
    from zsad_desktop.cli.workspace_location import open_workspace

    require_ray()  # before the scan: without Ray the user learns at once how to install it
    if args.cluster != AUTO and not args.db:
        print(
            "error: a cluster's workers need a database they all reach: add --db postgresql+psycopg2://...",
            file=sys.stderr,
        )
        return 2
    if not args.folder.is_dir():
        raise FileNotFoundError(f"{args.folder}: no such folder")
    if (
        args.out
        or args.detector_input[0] != InputChoice()
        or args.tile_size
        or args.tile_overlap
        or args.no_tiling
    ):
        print(
            "note: with --cluster the predictions go into the workspace, seen with its own detector-input and "
            "tiling settings (the window's Settings); --out and the 'what the detector sees' options are ignored",
            file=sys.stderr,
        )
    workspace = open_workspace(args.folder, args)  # says where the reviews are kept, if on a share
    try:
        report = scan(workspace)
        print(
            f"{report.total} images: {report.added} new, {report.changed} changed, "
            f"{len(report.unreadable)} unreadable"
        )
        recipe = recipe_of(args)

        def register(facts) -> None:  # the window shows the active model's scores as they land
            model_versions.register_version(
                workspace,
                facts.model_id,
                recipe.method,
                {key: recipe.settings.get(key) for key in ("model_name", "pretrained", "image_size")},
                settings={"object_name": args.object_name or "object"},
                activate=True,
            )

        bar = ClusterBar()
        result = score_on_cluster(
            workspace,
            recipe,
            ClusterChoice(args.cluster, args.workers, args.chunk_size, retry_failed=args.retry_failed),
            progress=bar.update,
            on_model=register,
        )
        bar.close()
    finally:
        workspace.close()
    for failure in result.failed:
        print(f"failed {failure.path}: {failure.error}", file=sys.stderr)
    print(f"{result.summary()}; model {result.model_id}")
    return 0


class ClusterBar:
    """tqdm's bar with the cluster's own counts: failed, images/s and ETA over the whole run."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(desc="cluster", unit="img", file=sys.stderr)

    def update(self, progress) -> None:
        if self.bar.total is None:  # its clock starts with the work, not with the workers' loading
            self.bar.reset(total=progress.total)
        self.bar.n = progress.done
        self.bar.set_postfix_str(progress.text(), refresh=True)

    def close(self) -> None:
        self.bar.close()


def recipe_of(args: argparse.Namespace):
    """The detector the command-line options describe, as each actor will build it."""
    from zsad_desktop.app.cluster.detector_recipe import DetectorRecipe

    settings = {"model_name": args.model_name, "pretrained": args.pretrained, "image_size": args.image_size}
    for key in ("object_name", "batch_size", "checkpoint", "variant", "dinov2_checkpoint"):
        if getattr(args, key, None):
            settings[key] = getattr(args, key)
    return DetectorRecipe(args.method, settings, str(args.model) if args.model else None, args.device)

"""Folder scan and gallery query speed at 100,000 images.

Writes a synthetic folder of tiny PNGs (each unique), scans it into a fresh
workspace, rescans it unchanged (incremental: nothing is hashed), changes 1%
of the files and rescans, then gives every image a score and 10% of them a
review, as after a few days' work, and times the queries the window makes.
One line per measurement.

    python bench/scan.py [--images 100000] [--folder /tmp/zsad-scan-bench] [--keep]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import insert, select, text

from zsad_desktop.app.review.decisions import record_review
from zsad_desktop.app.training import model_versions
from zsad_desktop.app.workspace.scanning import scan
from zsad_desktop.app.workspace.workspace import Workspace
from zsad_desktop.store import Image, Prediction, Review, ReviewStatus

MODEL = "bench:v1"
REVIEWED_SHARE = 0.10


PAGE = 400  # ui.gallery_model.PAGE, without importing Qt here


def write_folder(folder: Path, count: int) -> None:
    base = np.zeros((8, 8), np.uint8)
    for index in range(count):
        sub = folder / f"batch{index // 1000:03d}"
        if index % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        base.flat[:4] = np.frombuffer(index.to_bytes(4, "little"), np.uint8)  # unique content
        cv2.imwrite(str(sub / f"{index:06d}.png"), base)


def once(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def median_ms(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def fill_scores_and_reviews(workspace: Workspace) -> None:
    """A score for every image, a decision on 10% of them (bulk rows: this is set-up, not measured)."""
    rng = np.random.default_rng(0)
    with workspace.database.read() as session:
        hashes = session.scalars(select(Image.content_hash).where(Image.content_hash.is_not(None))).all()
    reviewed_states = [
        ReviewStatus.NORMAL,
        ReviewStatus.ACCEPTED,
        ReviewStatus.CORRECTED,
        ReviewStatus.REJECTED,
        ReviewStatus.SKIPPED,
    ]
    chosen = rng.choice(len(hashes), int(len(hashes) * REVIEWED_SHARE), replace=False)
    with workspace.database.session() as session:
        session.execute(
            insert(Prediction),
            [
                {"image_hash": h, "model_version": MODEL, "score": float(s), "heatmap_file": "-"}
                for h, s in zip(hashes, rng.random(len(hashes)))
            ],
        )
        session.execute(
            insert(Review),
            [
                {
                    "image_hash": hashes[i],
                    "status": reviewed_states[int(i) % len(reviewed_states)],
                    "reviewer": "bench",
                }
                for i in chosen
            ],
        )
        session.execute(
            text(  # what record_review keeps in step, done in bulk
                "UPDATE images SET review_status = (SELECT status FROM reviews WHERE image_hash = images.content_hash) "
                "WHERE content_hash IN (SELECT image_hash FROM reviews)"
            )
        )
    model_versions.register_version(workspace, MODEL, "bench", {}, activate=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/zsad-scan-bench"))
    parser.add_argument("--keep", action="store_true", help="leave the folder and its workspace behind")
    args = parser.parse_args()
    n = args.images
    shutil.rmtree(args.folder, ignore_errors=True)
    _, seconds = once(lambda: write_folder(args.folder, n))
    print(f"setup: wrote {n} images in {seconds:.1f} s")

    workspace = Workspace.open(args.folder)
    report, seconds = once(lambda: scan(workspace))
    print(
        f"first scan: {report.added} images hashed and indexed in {seconds:.1f} s ({report.added / seconds:.0f} images/s)"
    )
    report, seconds = once(lambda: scan(workspace))
    print(
        f"unchanged rescan: {report.unchanged} images checked, {report.changed + report.added} hashed, "
        f"in {seconds:.2f} s ({report.unchanged / seconds:.0f} images/s)"
    )
    changed = random.Random(0).sample(sorted(args.folder.rglob("*.png")), n // 100)
    for path in changed:
        path.write_bytes(path.read_bytes() + b"\0")
    report, seconds = once(lambda: scan(workspace))
    print(f"rescan with 1% changed: {report.changed} rehashed of {report.total} in {seconds:.2f} s")

    fill_scores_and_reviews(workspace)
    counts = workspace.counts()
    print(f"setup: {n} scores, {n - counts[ReviewStatus.UNREVIEWED]} reviews")
    # Stored one by one, predictions and reviews refresh the planner's statistics every few hundred
    # rows; these were bulk-inserted, so refresh once, as the application would have by now.
    _, seconds = once(workspace.database.analyze)
    print(f"refresh planner statistics: {seconds * 1000:.0f} ms at {n} images")
    some = workspace.images(order="name", limit=2000)[1000]
    listing = workspace.listing()
    middle = listing.rows(n // 2, 1)[0]
    queries = [
        ("next unreviewed by score", lambda: workspace.next_unreviewed()),
        ("counts per status", lambda: workspace.counts()),
        (
            "filter unreviewed, score 0.90-0.95, first 500",
            lambda: workspace.images([ReviewStatus.UNREVIEWED], 0.90, 0.95, limit=500),
        ),
        (
            "filter unreviewed, score 0.90-0.95, all",
            lambda: workspace.images([ReviewStatus.UNREVIEWED], 0.90, 0.95),
        ),
        ("filter corrected, all", lambda: workspace.images([ReviewStatus.CORRECTED])),
        (
            "filter corrected or accepted, score >= 0.5, all",
            lambda: workspace.images([ReviewStatus.CORRECTED, ReviewStatus.ACCEPTED], 0.5),
        ),
        ("one image's row", lambda: workspace.image(some.id)),
        ("whole gallery sorted by score (before paging)", lambda: workspace.images(order="score")),
        # what the window does: a listing's first page and count, the page after it, a jump, an id's place
        ("gallery opens: first page", lambda: workspace.listing().first(PAGE)),
        ("gallery scrolls: the page after row 50,000", lambda: listing.after(listing.key(middle), PAGE)),
        ("gallery by name: first page", lambda: workspace.listing(order="name").first(PAGE)),
        ("gallery reopened on image 50,000: its place", lambda: listing.position(middle.id)),
        ("gallery count (not read by the window)", lambda: workspace.listing().count()),
        ("ids to predict (new detector: all readable)", lambda: workspace.ids_to_predict(None)),
    ]
    for label, fn in queries:
        rows = fn()
        size = len(rows) if isinstance(rows, list) else 1
        print(f"query {label}: {median_ms(fn, 3 if size > 5000 else 7):.1f} ms ({size} rows) at {n} images")
    mask = np.zeros((8, 8), bool)
    mask[2:5, 2:5] = True
    targets = [r.id for r in workspace.images([ReviewStatus.UNREVIEWED], limit=20)]
    start = time.perf_counter()
    for image_id in targets:
        record_review(workspace, image_id, ReviewStatus.CORRECTED, mask=mask, reviewer="bench")
    print(
        f"record a review (mask file + row + history): {(time.perf_counter() - start) / len(targets) * 1000:.1f} ms at {n} images"
    )
    workspace.close()
    if not args.keep:
        shutil.rmtree(args.folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Folder scan and gallery query speed at 100,000 images.

Writes a synthetic folder of tiny PNGs (each unique), scans it into a fresh
workspace, rescans it unchanged (incremental), changes 1% of the files and
rescans, then times the queries the window makes. One line per measurement.

    python bench/scan.py [--images 100000] [--folder /tmp/zsad-scan-bench]
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from zsad_desktop.app.reviews import record_review
from zsad_desktop.app.scanning import scan
from zsad_desktop.app.workspace import Workspace
from zsad_desktop.store import Prediction, ReviewStatus


def write_folder(folder: Path, count: int) -> None:
    base = np.zeros((8, 8), np.uint8)
    for index in range(count):
        sub = folder / f"batch{index // 1000:03d}"
        if index % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        base.flat[:4] = np.frombuffer(index.to_bytes(4, "little"), np.uint8)  # unique content
        cv2.imwrite(str(sub / f"{index:06d}.png"), base)


def timed(label: str, fn, repeat: int = 1):
    start = time.perf_counter()
    for _ in range(repeat):
        result = fn()
    seconds = (time.perf_counter() - start) / repeat
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/zsad-scan-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.folder, ignore_errors=True)
    _, seconds = timed("write", lambda: write_folder(args.folder, args.images))
    print(f"wrote {args.images} images in {seconds:.1f} s")
    workspace = Workspace.open(args.folder)
    report, seconds = timed("scan", lambda: scan(workspace))
    print(f"first scan: {report.added} images in {seconds:.1f} s ({report.added / seconds:.0f} images/s)")
    report, seconds = timed("rescan", lambda: scan(workspace))
    print(f"unchanged rescan: {report.unchanged} images checked in {seconds:.2f} s ({report.unchanged / seconds:.0f} images/s)")
    changed = random.Random(0).sample(sorted(args.folder.rglob("*.png")), args.images // 100)
    for path in changed:
        path.write_bytes(path.read_bytes() + b"\0")
    report, seconds = timed("rescan", lambda: scan(workspace))
    print(f"rescan with 1% changed: {report.changed} rehashed in {seconds:.2f} s")

    # Scores for every image and reviews for 10% of them, as after a day's work.
    model = "bench:v1"
    rows = workspace.images(order="name")
    rng = np.random.default_rng(0)
    with workspace.database.session() as session:
        session.bulk_save_objects([Prediction(image_hash=r.content_hash, model_version=model, score=float(s), heatmap_file="-")
                                   for r, s in zip(rows, rng.random(len(rows)))])
    from zsad_desktop.app.model_versions import register_version

    register_version(workspace, model, "bench", {}, activate=True)
    for row in rows[: len(rows) // 1000]:
        record_review(workspace, row.id, ReviewStatus.NORMAL, reviewer="bench")
    for label, fn in [
        ("next unreviewed by score", lambda: workspace.next_unreviewed()),
        ("counts per status", lambda: workspace.counts()),
        ("filter: unreviewed with score 0.9-1.0", lambda: workspace.images([ReviewStatus.UNREVIEWED], 0.9, 1.0, limit=500)),
        ("filter: normal reviews", lambda: workspace.images([ReviewStatus.NORMAL])),
        ("whole gallery sorted by score", lambda: workspace.images(order="score")),
    ]:
        _, seconds = timed(label, fn, repeat=3)
        print(f"query {label}: {seconds * 1000:.1f} ms at {args.images} images")
    workspace.close()
    shutil.rmtree(args.folder, ignore_errors=True)


if __name__ == "__main__":
    main()

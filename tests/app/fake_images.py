"""A big gallery without pixels: image, prediction and review rows written straight into a workspace's store.

Scores come in steps of 0.1 so that many tie, some files are multi-frame (one row per frame, the same
path), some images are unscored, reviewed, unreadable or gone from the folder: every case the
gallery's order and filters have to get right.
"""

from sqlalchemy import insert

from zsad_desktop.app.training import model_versions
from zsad_desktop.store import Image, Prediction, Review, ReviewStatus

MODEL = "fake:v1"
REVIEWED = [
    ReviewStatus.NORMAL,
    ReviewStatus.ACCEPTED,
    ReviewStatus.CORRECTED,
    ReviewStatus.REJECTED,
    ReviewStatus.SKIPPED,
]


def fake_score(i: int) -> float | None:
    return None if i % 10 == 3 else round((i * 7919 % 11) / 10, 1)  # 0.0 .. 1.0, ties everywhere


def fake_status(i: int) -> ReviewStatus:
    return REVIEWED[(i // 13) % len(REVIEWED)] if i % 13 == 5 else ReviewStatus.UNREVIEWED


def fill(workspace, count: int) -> None:
    """`count` image rows (every 17th file has three frames), scored by the active model `MODEL`."""
    images, predictions, reviews = [], [], []
    for i in range(count):
        frame = i % 3 if (i // 3) % 17 == 4 else None  # rows i..i+2 are frames of one file
        base = i if frame is None else i - frame
        path = f"folder{base % 4}/img{base:06d}.png"
        digest = f"{i:064x}"
        status = fake_status(i)
        images.append(
            dict(
                rel_path=path,
                frame=frame,
                content_hash=digest,
                size_bytes=1,
                mtime_ns=1,
                width=8,
                height=8,
                bit_depth=8,
                modality="photo",
                missing=i % 29 == 11,
                review_status=status,
                load_error="not an image" if i % 31 == 7 else None,
            )
        )
        if fake_score(i) is not None:
            predictions.append(
                dict(image_hash=digest, model_version=MODEL, score=fake_score(i), heatmap_file="-")
            )
        if status is not ReviewStatus.UNREVIEWED:
            reviews.append(dict(image_hash=digest, status=status, reviewer="tester"))
    with workspace.database.session() as session:
        session.execute(insert(Image), images)
        session.execute(insert(Prediction), predictions)
        if reviews:
            session.execute(insert(Review), reviews)
    model_versions.register_version(workspace, MODEL, "fake", {}, activate=True)
    workspace.database.analyze()

"""Kill review writers at random moments; nothing may be half-written, nothing committed may be lost.

Writers are forked from a server process that has already imported the
application, so each life costs milliseconds and many random kill points
(inside mask encoding, the fsync, the rename, the SQLite commit, a backup)
fit in a few seconds.
"""

import multiprocessing
import random
import time
from collections import defaultdict

import pytest
from sqlalchemy import select, text

from tests.app.writer_process import review_one_image, write_reviews
from zsad_desktop.app.review.decisions import history
from zsad_desktop.imaging.masks import read_mask
from zsad_desktop.store import Image, Prediction, Review, ReviewEvent, ReviewStatus
from zsad_desktop.store.backups import list_backups, problems_of

KILLS = 40
MANY_KILLS = 1000


@pytest.fixture(scope="module")
def forkserver():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.app.writer_process"])
    return context


def _start(context, folder, life, rounds, reviewer, backup_every_round=False):
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=write_reviews,
        args=(str(folder), life, rounds, reviewer, child, backup_every_round),
        daemon=True,
    )
    process.start()
    child.close()
    return process, parent


def _events(workspace):
    with workspace.database.read() as session:
        return session.scalars(select(ReviewEvent).order_by(ReviewEvent.id)).all()


def _check_consistent(workspace):
    """Integrity, every referenced file whole, history chains that end in the current review."""
    with workspace.database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    with workspace.database.read() as session:
        images = session.scalars(select(Image)).all()
        shapes = {i.content_hash: (i.height, i.width) for i in images}
        reviews = {r.image_hash: r for r in session.scalars(select(Review))}
        predictions = session.scalars(select(Prediction)).all()
    events = _events(workspace)
    by_image = defaultdict(list)
    for event in events:
        by_image[event.image_hash].append(event)
        for relative in filter(None, (event.mask_file, event.proposal_file)):
            assert read_mask(workspace.files.path(relative)).shape == shapes[event.image_hash]
    for image_hash, review in reviews.items():
        chain = by_image[image_hash]
        assert [e.from_status for e in chain] == [None] + [e.to_status for e in chain[:-1]]
        last = chain[-1]
        assert (review.status, review.mask_file, review.note) == (last.to_status, last.mask_file, last.note)
        for relative in filter(None, (review.mask_file, review.proposal_file)):
            assert read_mask(workspace.files.path(relative)).shape == shapes[image_hash]
    for image in images:  # the state the gallery counts by follows the review, in the same transaction
        review = reviews.get(image.content_hash)
        assert image.review_status == (review.status if review else ReviewStatus.UNREVIEWED)
    for prediction in predictions:
        assert workspace.files.read_heatmap(prediction.heatmap_file).shape == shapes[prediction.image_hash]
    return events, predictions


def _kill_at_random(workspace, forkserver, rng, life, longest_s, backup_every_round=False) -> int:
    """One writer's life, ended by SIGKILL after a random while (every other one, on average, after its
    first commit: however loaded the machine, kills fall inside later rounds too); the rounds it committed."""
    process, pipe = _start(forkserver, workspace.folder, life, 10_000, "crash", backup_every_round)
    assert pipe.recv() == ("ready", -1)
    reported = -1
    if rng.random() < 0.5:
        assert pipe.recv() == ("committed", 0)
        reported = 0
    time.sleep(rng.uniform(0.0, longest_s))  # let it write for a random while, then SIGKILL
    process.kill()
    process.join()
    while pipe.poll():
        try:
            reported = pipe.recv()[1]
        except EOFError:
            break
    # Whatever the parent was told is committed must be there; at most one more round may be.
    with workspace.database.read() as session:  # this life's only: the history grows to thousands
        mine = session.scalars(
            select(ReviewEvent).where(ReviewEvent.note.like(f"crash:{life}:%")).order_by(ReviewEvent.id)
        ).all()
    rounds = [int(e.note.rsplit(":", 1)[1]) for e in mine]
    assert rounds == list(range(len(rounds))) and reported <= len(rounds) - 1 <= reported + 1
    return len(rounds)


def test_writer_killed_at_random_points_leaves_old_or_new_review(workspace, forkserver):
    rng = random.Random(1234)
    committed_total = sum(_kill_at_random(workspace, forkserver, rng, life, 0.25) for life in range(KILLS))
    events, predictions = _check_consistent(workspace)
    assert len(events) == committed_total and committed_total >= KILLS // 4  # it did get to write
    assert len(predictions) >= committed_total - KILLS  # a round's heatmap follows its review


def _check_backups(workspace) -> list:
    folder = workspace.database.file.parent / "backups"
    backups = list_backups(folder)
    for backup in backups:
        assert problems_of(backup.path) == [], backup.path
    return backups


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 2 minutes on an idle machine; far longer on a loaded one
def test_a_thousand_kills_while_reviewing_and_backing_up_leave_everything_consistent(workspace, forkserver):
    """Several kills a second, each writer making a backup after every review (a day passes at each)."""
    rng = random.Random(26)
    committed_total = 0
    for life in range(MANY_KILLS):
        committed_total += _kill_at_random(workspace, forkserver, rng, life, 0.06, backup_every_round=True)
        if life % 250 == 249:
            _check_consistent(workspace)
            _check_backups(workspace)
    events, _ = _check_consistent(workspace)
    assert len(events) == committed_total and committed_total >= MANY_KILLS // 4
    backups = _check_backups(workspace)
    assert 0 < len(backups) <= 7 + 1  # pruned to 7; one more when a kill fell between copy and pruning
    newest = backups[0].path
    with workspace.database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert newest.stat().st_size > 0


def test_two_windows_deciding_on_one_image_at_once_keep_both_and_the_later_wins(workspace, forkserver):
    rounds = 20
    go = forkserver.Event()
    windows = []
    for reviewer in ("left", "right"):
        parent, child = forkserver.Pipe(duplex=False)
        process = forkserver.Process(
            target=review_one_image, args=(str(workspace.folder), rounds, reviewer, go, child), daemon=True
        )
        process.start()
        child.close()
        windows.append((process, parent))
    for _process, pipe in windows:
        assert pipe.recv() == ("ready", -1)
    go.set()  # both decide on the same image at the same moment, again and again
    for process, pipe in windows:
        messages = []
        while not messages or messages[-1][0] != "done":
            messages.append(pipe.recv())
        process.join(timeout=60)
        assert process.exitcode == 0
    events, _ = _check_consistent(workspace)  # each event's "before" is the decision committed just before
    row = workspace.images(order="name")[0]
    entries = history(workspace, row.id)
    assert len(entries) == 2 * rounds == len(events)
    for reviewer in ("left", "right"):  # nothing lost, each window's decisions in its own order
        notes = [e.note for e in entries if e.reviewer == reviewer]
        assert notes == [f"{reviewer}:{n}" for n in range(rounds)]
    last = entries[-1]  # the later decision is the current one
    assert (row.status, row.reviewer) == (last.to_status, last.reviewer)


def test_two_processes_writing_at_once_lose_nothing(workspace, forkserver):
    writers = [_start(forkserver, workspace.folder, seed, 25, f"writer{seed}") for seed in (1, 2)]
    for process, pipe in writers:
        messages = []
        while not messages or messages[-1][0] != "done":
            messages.append(pipe.recv())
        process.join(timeout=60)
        assert process.exitcode == 0
    events, _ = _check_consistent(workspace)
    reviewers = [e.reviewer for e in events]
    assert reviewers.count("writer1") == 25 and reviewers.count("writer2") == 25

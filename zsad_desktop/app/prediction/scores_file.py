"""`scores.csv` of a folder prediction, appended row by row as images finish, and what it says is done.

A row is written and flushed as soon as its image is scored (its heatmap files are
already in place), so a crash or a kill keeps every finished image. A rerun into the
same folder reads the file back: an image whose (path, frame, model, detector input)
has a score is done and not computed again. Rows of skipped files are dropped on
rerun (the file is tried again and gets one fresh row), as is a row cut off by a kill.
Paths are written in `imaging.file_names.name_text` form: valid UTF-8 whatever the name.
A file replaced under the same name keeps its row: delete the row (or use another
output folder) to score it again.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import IO, Any, NamedTuple

from zsad_desktop.imaging.file_names import name_text
from zsad_desktop.imaging.masks import atomic_write

FIELDS = ["path", "frame", "score", "model", "detector_input", "error"]
RUN_RECORD = "prediction_run.json"  # the folder whose scores these are


class ScoreKey(NamedTuple):
    """What makes a score the same result again: the file, its frame, the model and what it saw."""

    path: str  # relative path, in name_text form
    frame: str  # 1-based, "" for single-frame files
    model: str
    detector_input: str


class ScoresFile:
    """An open scores.csv: `done` holds the keys already scored; `add_*` append one flushed row."""

    def __init__(self, path: Path):
        self.path = path
        kept = _finished_rows(path)
        self.done = {ScoreKey(row[0], row[1], row[3], row[4]) for row in kept}
        # Rewritten without skipped or torn rows, then only appended to.
        with atomic_write(path, mode="w") as handle:
            _writer(handle).writerows([FIELDS, *kept])
        self._handle = open(path, "a", encoding="utf-8", newline="")
        self._writer = _writer(self._handle)

    def add_score(self, key: ScoreKey, score: float) -> None:
        self._write([key.path, key.frame, f"{score:.6f}", key.model, key.detector_input, ""])
        self.done.add(key)

    def add_skipped(self, rel_path: str, reason: str) -> None:
        self._write([name_text(rel_path), "", "", "", "", reason])

    def _write(self, row: list[str]) -> None:
        self._writer.writerow(row)
        self._handle.flush()  # in the operating system's hands: a killed process loses nothing written

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> ScoresFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def claim_output(out_dir: Path, folder: Path) -> None:
    """Record which folder `out_dir` holds the scores of; `FileExistsError` when it holds another's
    (its relative paths would pass for this folder's and be skipped as done)."""
    record = out_dir / RUN_RECORD
    source = name_text(str(Path(folder).resolve()))
    try:
        earlier = json.loads(record.read_text(encoding="utf-8")).get("folder")
    except (FileNotFoundError, ValueError, AttributeError):
        earlier = None  # a first run, or one from before the record
    if earlier not in (None, source):
        raise FileExistsError(
            f"{name_text(str(out_dir))} holds the scores of {earlier}, not {source}: give another "
            f"--out, or delete {RUN_RECORD} there to continue it with this folder"
        )
    if earlier is None:
        with atomic_write(record, mode="w") as handle:
            json.dump({"folder": source}, handle)


def score_key(rel_path: str, frame: int | None, model: str, detector_input: str) -> ScoreKey:
    return ScoreKey(name_text(rel_path), "" if frame is None else str(frame + 1), model, detector_input)


def _writer(handle: IO[str]) -> Any:  # csv's writer type is private
    return csv.writer(handle, lineterminator="\n")


def _finished_rows(path: Path) -> list[list[str]]:
    """The scored rows of an earlier run, in order, each key once; [] when there is no file."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        return []
    if not text.endswith("\n"):  # the last row was being written when the run was killed
        text = text[: text.rfind("\n") + 1]
    rows, seen = [], set()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if row == FIELDS or len(row) != len(FIELDS) or row[5] or not _is_number(row[2]):
                continue
            key = (row[0], row[1], row[3], row[4])
            if key not in seen:
                seen.add(key)
                rows.append(row)
    except csv.Error:  # a cut-off quoted field: what came before it stands
        pass
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

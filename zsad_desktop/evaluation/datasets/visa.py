"""VisA layout: the split table ``ROOT/split_csv/1cls.csv``.

Columns object, split, label (``normal``/``anomaly``), image, mask; the
paths are relative to ROOT (the folder that holds ``split_csv/``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from zsad_desktop.evaluation.datasets.sample import DatasetError, Sample

TABLE = Path("split_csv") / "1cls.csv"
COLUMNS = ("object", "split", "label", "image", "mask")
LABELS = {"normal": 0, "anomaly": 1}


def _rows(table: Path) -> list[dict[str, str]]:
    try:
        with open(table, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(
                    f"{table}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
                )
            rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"{table}: cannot read the split table ({error})") from error
    for line, row in enumerate(rows, start=2):
        if row["label"].lower() not in LABELS:
            raise DatasetError(
                f"{table}, line {line}: label {row['label']!r} is neither 'normal' nor 'anomaly'"
            )
    return rows


def read_visa(root: Path, split: str) -> dict[str, list[Sample]]:
    table = root / TABLE
    if not table.is_file():
        raise DatasetError(f"{root} is not in the VisA layout: expected its split table at {table}")
    out: dict[str, list[Sample]] = {}
    for row in _rows(table):
        samples = out.setdefault(
            row["object"], []
        )  # every category is known, even one without rows in this split
        if row["split"] != split:
            continue
        label = LABELS[row["label"].lower()]
        mask = root / row["mask"] if label and row["mask"] else None
        samples.append(
            Sample(root / row["image"], mask, label, row["object"], "anomaly" if label else "good", split)
        )
    _check_images_exist(root, table, [s for samples in out.values() for s in samples])
    return out


def _check_images_exist(root: Path, table: Path, samples: list[Sample]) -> None:
    """A wrong ROOT makes every relative path miss: say so once instead of failing image by image later."""
    missing = [s.image_path for s in samples if not s.image_path.is_file()]
    if missing:
        raise DatasetError(
            f"{len(missing)} of {len(samples)} images listed in {table} do not exist, e.g. {missing[0]}"
            f" (the table's paths are read relative to {root})"
        )

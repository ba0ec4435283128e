"""Peak memory of scoring a huge, small-on-disk PNG (the worst case of a format decoded whole).

Writes a SIDE x SIDE RGB PNG of one colour row by row (about 870 KB at 30,000 px),
then, each in a fresh process, predicts the folder by tiles with a detector that
costs nothing (the reading is what is measured) and prints the process's peak resident
memory: once with the decode limit raised to let it through (as before the limit
existed), once with the default limit (refused from the header, nothing decoded).

    python bench/decode_memory.py [--side 30000] [--folder /tmp/zsad-decode-bench] [--code DIR]

--code runs another copy of the package (e.g. `git archive <commit> zsad_desktop | tar -x -C DIR`)
for a before/after comparison. Each run may take several GB: the child stops at 16 GB of address space.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

CHILD = r"""
import resource, sys, time
from pathlib import Path
import numpy as np
from zsad_desktop.app.prediction.folder_prediction import predict_folder
from zsad_desktop.detection.interface import Detection, Detector

resource.setrlimit(resource.RLIMIT_AS, (16 << 30, 16 << 30))  # a shared machine: fail rather than take it all

class Free(Detector):
    model_id = "bench:free"
    input_size = 224  # as a CLIP backbone: images larger than two inputs are predicted by tiles
    def predict(self, images):
        return [Detection(float(i.mean()), np.zeros(i.shape[:2], np.float32), self.model_id) for i in images]

start = time.perf_counter()
result = predict_folder(Free(), Path(sys.argv[1]), Path(sys.argv[2]))
outcome = "scored" if result.scored else f"refused: {result.failed[0].reason}"
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{peak_mb:,.0f} MB peak RSS, {time.perf_counter() - start:.1f} s, {outcome}")
"""


def write_png(path: Path, side: int) -> None:
    """An RGB PNG of one grey, streamed row by row: never the whole image in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x80" * (3 * side)
    packer = zlib.compressobj(9)
    with open(path, "wb") as handle:
        handle.write(
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
        )
        for _ in range(side):
            data = packer.compress(row)
            if data:
                handle.write(chunk(b"IDAT", data))
        handle.write(chunk(b"IDAT", packer.flush()) + chunk(b"IEND", b""))


def measure(folder: Path, limit: str | None, code: Path | None) -> str:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    env.pop("ZSAD_MAX_DECODE_PIXELS", None)
    if limit:
        env["ZSAD_MAX_DECODE_PIXELS"] = limit
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder / "in"), str(folder / f"out-{limit}-{os.getpid()}")],
        env=env,
        cwd=code or Path.cwd(),
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or f"failed ({done.returncode}): {done.stderr.strip()[-300:]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=30_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/zsad-decode-bench"))
    parser.add_argument("--code", type=Path, help="the folder holding the zsad_desktop package to measure")
    args = parser.parse_args()
    png = args.folder / "in" / f"huge_{args.side}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    if not png.exists():
        write_png(png, args.side)
    print(f"{args.side:,} x {args.side:,} RGB PNG, {png.stat().st_size / 1e3:,.0f} KB on disk")
    print(f"limit raised to {args.side**2:,} px: {measure(args.folder, str(args.side**2), args.code)}")
    print(f"default limit: {measure(args.folder, None, args.code)}")


if __name__ == "__main__":
    main()

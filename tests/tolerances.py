"""Tolerances that say what they compare, for the numeric reference tests.

Float32 results move with the kernels that compute them: the same product summed in another order
(AVX-512, AVX2 or plain C loops in ATen; AVX2 or SSE4.1 code in oneDNN; another batch shape) rounds
differently. A bound that held on the machine where a test was written fails on the next one when it
does not say what it bounds, so every comparison here is one of three kinds:

- `assert_close_to_scale`: element-wise values (tokens, features, maps). Rounding grows with the size
  of the values, not with each element, so the absolute tolerance is `k * max|want|`.
- `assert_relative`: sums and means. A sum carries the rounding of every term, so its error is a share
  of its size: `|got - want| <= r * |want|`.
- `assert_kernels_agree`: maps and scores computed by different kernels (the exact engine against the
  fast one, a transcription of the authors' code against ours). The maps are probabilities or
  calibrated scores of range about 1, so the bound is absolute, and it is measured: the largest
  difference seen with `ATEN_CPU_CAPABILITY=avx2` and `=default` (`ONEDNN_MAX_CPU_ISA` to match),
  times a margin, as each call's comment says.

`ZSAD_TOLERANCE_LOG=<file>` appends every comparison's observed error beside its bound (tab-separated:
test, what, kind, observed, bound, ATen capability), so the bounds can be measured again on another
CPU: run `pytest -m reference` under each capability and keep the largest observed value per line.
"""

from __future__ import annotations

import os

import numpy as np
import torch


def _array(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=np.float64)


def _record(what: str, kind: str, observed: float, bound: float) -> None:
    path = os.environ.get("ZSAD_TOLERANCE_LOG")
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
    capability = torch.backends.cpu.get_cpu_capability()
    with open(path, "a", encoding="utf-8") as log:
        log.write(f"{test}\t{what}\t{kind}\t{observed:.3e}\t{bound:.3e}\t{capability}\n")


def assert_close_to_scale(got, want, k: float, what: str = "values") -> float:
    """Element-wise: max |got - want| <= k * max |want|. Returns the observed k."""
    a, b = _array(got), _array(want)
    assert a.shape == b.shape, f"{what}: shape {a.shape} (ours) vs {b.shape}"
    scale = float(np.abs(b).max()) if b.size else 0.0
    difference = float(np.abs(a - b).max()) if a.size else 0.0
    observed = difference / scale if scale > 0 else difference
    _record(what, "scaled", observed, k)
    assert observed <= k, (
        f"{what}: max |diff| {difference:.2e} > {k:g} x max |ref| {scale:.3g} = {k * scale:.2e}"
    )
    return observed


def assert_relative(got, want, r: float, what: str = "sum") -> float:
    """Sums and means: |got - want| <= r * |want| for each. Returns the largest observed share."""
    a, b = _array(got), _array(want)
    assert a.shape == b.shape, f"{what}: shape {a.shape} (ours) vs {b.shape}"
    shares = np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)
    observed = float(shares.max()) if shares.size else 0.0
    _record(what, "relative", observed, r)
    worst = int(shares.argmax()) if shares.size else 0
    assert observed <= r, (
        f"{what}: {float(a.flat[worst])!r} (ours) vs {float(b.flat[worst])!r}, "
        f"relative difference {observed:.2e} > {r:g}"
    )
    return observed


def assert_kernels_agree(got, want, bound: float, what: str = "maps") -> float:
    """Results of different kernels: max |got - want| <= bound, a bound measured across CPU kernels."""
    a, b = _array(got), _array(want)
    assert a.shape == b.shape, f"{what}: shape {a.shape} (ours) vs {b.shape}"
    observed = float(np.abs(a - b).max()) if a.size else 0.0
    _record(what, "measured", observed, bound)
    assert observed <= bound, f"{what}: max |diff| {observed:.2e} > measured bound {bound:g}"
    return observed

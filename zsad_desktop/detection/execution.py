"""How a detector runs, apart from what it computes: attention engine and precision.

- engine "fast" (default): self-correlation attention on
  `scaled_dot_product_attention` (no N x N matrix is kept), the original and
  the dense path sharing each block's q, k, v projection; "exact": the
  explicit float32 softmax matrices of before (kept to check against).
- precision "auto" (default), "float32", "bfloat16", "float16": the dtype of
  matrix products. "auto" is bfloat16 on a CPU with native bfloat16 (avx512_bf16 or
  AMX; 2-3x faster there, its maps' agreement with float32 is measured in the README's
  Speed section) and float32 on other CPUs; bfloat16 on a GPU that has it (float16 on
  older ones). The exact engine always runs float32.

Neither changes the model identifier: float32 results agree within 1e-4.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch

from zsad_desktop.detection.device import select_device
from zsad_desktop.detection.run_choices import ENGINES, PRECISIONS

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class Execution:
    """Engine and precision of a detector (keywords `engine`, `precision` of `create_detector`)."""

    engine: str = "fast"
    precision: str = "auto"

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ValueError(f"engine is one of {ENGINES}, not {self.engine!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision is one of {PRECISIONS}, not {self.precision!r}")

    def dtype(self, device: torch.device) -> torch.dtype:
        return resolve_precision(
            torch.device(device), "float32" if self.engine == "exact" else self.precision
        )

    def autocast(self, device: torch.device):
        return autocast_for(torch.device(device), self.dtype(device))


def cpu_supports_bf16() -> bool:
    """Native bfloat16 dot products (avx512_bf16 or AMX); without them bf16 is emulated and slower."""
    cpu = getattr(torch.backends, "cpu", None)
    capability = cpu.get_cpu_capability() if cpu is not None else ""
    if capability in ("AVX512_BF16", "AMX", "AVX512_AMX"):
        return True
    mkldnn = getattr(torch.ops, "mkldnn", None)
    try:  # oneDNN's own check, present in recent torch
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) if mkldnn is not None else False
    except (AttributeError, RuntimeError):
        return _cpuinfo_has("avx512_bf16") or _cpuinfo_has("amx_bf16")


def _cpuinfo_has(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as info:
            return any(line.startswith("flags") and flag in line.split() for line in info)
    except OSError:
        return False


def supported_precisions(device: torch.device) -> tuple[str, ...]:
    device = torch.device(device)
    if device.type == "cuda":
        return (
            ("float32", "bfloat16", "float16") if torch.cuda.is_bf16_supported() else ("float32", "float16")
        )
    return ("float32", "bfloat16") if cpu_supports_bf16() else ("float32",)


def resolve_precision(device: torch.device, precision: str = "auto") -> torch.dtype:
    device = torch.device(device)
    if precision == "auto":
        if device.type == "cuda":
            precision = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:  # without native support bfloat16 is emulated, slower than float32
            precision = "bfloat16" if cpu_supports_bf16() else "float32"
    if precision not in _DTYPES:
        raise ValueError(f"precision is one of {PRECISIONS}, not {precision!r}")
    if precision not in supported_precisions(device):
        log.warning("%s is not supported on %s; using float32", precision, device)
        precision = "float32"
    return _DTYPES[precision]


def autocast_for(device: torch.device, dtype: torch.dtype):
    """Autocast to `dtype` for matrix products; float32 runs without autocast."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def full_precision(device: torch.device):
    """Leave autocast, for what is computed once and cached (text features)."""
    return torch.autocast(torch.device(device).type, enabled=False)


def precision_summary(device: str = "auto") -> str:
    """What each precision means on this machine, for a settings screen or --help."""
    chosen = select_device(device)
    auto = str(resolve_precision(chosen, "auto")).replace("torch.", "")
    return (
        f"auto: {auto} on this computer's {chosen.type.upper()}. float32: maps within 1e-4 of the exact engine "
        f"(slower). bfloat16: about 2-3x faster on CPUs with native bfloat16 and on GPUs; maps close to "
        f"float32 (README, Speed). Supported here: {', '.join(supported_precisions(chosen))}."
    )

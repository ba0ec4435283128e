"""Device choice, mixed precision and batch sizing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def select_device(preference: str = "auto") -> torch.device:
    preference = (preference or "auto").lower()
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        log.warning("CUDA requested but not available; using the CPU")
        return torch.device("cpu")
    return torch.device(preference)


def default_batch_size(device: torch.device, image_size: int) -> int:
    if device.type != "cuda":
        return 1  # measured on a 2-core CPU: batches of 2, 4, 8 are slower per image than 1
    free, _ = torch.cuda.mem_get_info(device)
    per_image = (
        0.35e9 * (image_size / 518) ** 4
    )  # ViT-L at 518 with the dense path, measured on the device machine
    return int(max(1, min(32, free * 0.6 // per_image)))


def map_in_batches(fn: Callable[[Sequence[T]], list[R]], items: Sequence[T], batch_size: int) -> list[R]:
    """Apply `fn` to consecutive batches; halve the batch and retry when the GPU runs out of memory."""
    results: list[R] = []
    start = 0
    size = max(1, batch_size)
    while start < len(items):
        chunk = items[start : start + size]
        try:
            results.extend(fn(chunk))
        except torch.OutOfMemoryError:
            if size == 1:
                raise
            size = max(1, size // 2)
            log.warning("out of GPU memory: retrying with batch size %d", size)
            torch.cuda.empty_cache()
            continue
        start += len(chunk)
    return results

"""Text features computed once per model and kept on disk.

Text anchors and prompt features depend only on the backbone's weights, the
prompts and the method's own text weights, yet encoding them takes seconds
on a CPU at every start. They are stored under `<models>/cache/text/`
(`ZSAD_CACHE_DIR` moves it), one file per key: the backbone (its spec, and
the weight file's size and time so a replaced file misses), and whatever the
caller adds (prompt hash, object name, adapter digest). A cache that cannot
be read or written is only a missed cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from zsad_desktop.detection.backbone import Backbone, resolve_weights
from zsad_desktop.imaging.masks import atomic_write
from zsad_desktop.locations import models_dir

log = logging.getLogger(__name__)
FORMAT = 1  # bump when what is stored changes meaning


def cache_dir() -> Path:
    return Path(os.environ.get("ZSAD_CACHE_DIR") or models_dir() / "cache")


def backbone_key(backbone: Backbone) -> dict[str, Any]:
    spec = backbone.spec
    key: dict[str, Any] = {
        "model": spec.model_name,
        "weights": spec.pretrained,
        "quick_gelu": spec.quick_gelu,
        "seed": spec.seed,
    }
    try:
        path = resolve_weights(spec, allow_download=False)
    except Exception:  # noqa: BLE001 - loaded already; a vanished file only loses the file stamp
        path = None
    if path is not None:
        stat = path.stat()
        key["file"] = [str(path.resolve()), stat.st_size, int(stat.st_mtime)]
    return key


def digest(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha1()
    for name, tensor in sorted(tensors.items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def cached_text(
    kind: str, backbone: Backbone, key: dict[str, Any], compute: Callable[[], torch.Tensor]
) -> torch.Tensor:
    """The tensor stored for (`kind`, backbone, `key`), or `compute()`'s result, stored; on the backbone's device."""
    name = digest({"format": FORMAT, "kind": kind, "backbone": backbone_key(backbone), **key})[:20]
    path = cache_dir() / "text" / f"{kind}-{name}.pt"
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True).to(backbone.device)
        except Exception as exc:  # noqa: BLE001 - a damaged file is recomputed and replaced
            log.warning("text cache %s unreadable (%s); recomputing", path, exc)
    value = compute()
    try:
        with atomic_write(path) as handle:  # a reader sees the old file or the whole new one
            torch.save(value.detach().float().cpu().clone(), handle)
    except OSError as exc:
        log.warning("text cache %s not written: %s", path, exc)
    return value

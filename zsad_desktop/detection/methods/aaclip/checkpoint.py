"""AA-CLIP's checkpoint files: `text_adapter.pth` {"text_adapter": ...} and
`image_adapter.pth` {"image_adapter": ...}, with the reference's parameter names."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters

FILES = {"text_adapter": "text_adapter.pth", "image_adapter": "image_adapter.pth"}


def _load_part(module: torch.nn.Module, path: Path, key: str) -> None:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DetectorError(f"AA-CLIP checkpoint {path} is missing") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file in any way
        raise DetectorError(f"{path} is not a readable AA-CLIP checkpoint: {exc}") from None
    if not isinstance(data, dict) or key not in data:
        raise DetectorError(f"{path} is not an AA-CLIP checkpoint: no '{key}' entry")
    state = data[key]
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        raise DetectorError(f"{path} does not fit this backbone's adapters: missing {missing}, unexpected {unexpected}, "
                            f"mis-shaped {wrong}")
    module.load_state_dict(state, strict=True)


def load_adapters(adapters: AACLIPAdapters, folder: Path | str, parts=("text_adapter", "image_adapter")) -> None:
    folder = Path(folder)
    for key in parts:
        _load_part(getattr(adapters, key), folder / FILES[key], key)


def save_adapters(adapters: AACLIPAdapters, folder: Path | str, parts=("text_adapter", "image_adapter"), extra=None) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for key in parts:
        state = {k: v.detach().cpu() for k, v in getattr(adapters, key).state_dict().items()}
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        os.close(fd)
        torch.save({key: state, **(extra or {})}, tmp)
        os.replace(tmp, folder / FILES[key])

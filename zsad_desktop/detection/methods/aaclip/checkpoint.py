"""AA-CLIP's checkpoint files, in the reference's format.

- ``text_adapter.pth``: {"epoch", "text_adapter": state, "text_optimizer"}
- ``image_adapter.pth``: {"epoch", "image_adapter": state, "image_optimizer"}
- ``image_adapter_{epoch}.pth``: the same, one per epoch; the reference's
  test.py reads these (and only these). A finished model folder holds the
  last one, without optimiser state.

A folder without ``text_adapter.pth`` is valid: the reference then uses
CLIP's own text encoder for the anchors.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.detection.methods.aaclip.model import AACLIPAdapters

TEXT_FILE = "text_adapter.pth"
IMAGE_FILE = "image_adapter.pth"
_EPOCH_FILE = re.compile(r"image_adapter_(\d+)\.pth$")


@dataclass(frozen=True)
class LoadedCheckpoint:
    text_epoch: int | None  # None: no text adapter in the folder
    image_epoch: int | None
    text: dict[str, Any]  # the whole files, optimiser state included where present
    image: dict[str, Any]

    @property
    def adapt_text(self) -> bool:
        return self.text_epoch is not None


def read_part(path: Path, key: str) -> dict[str, Any]:
    """One checkpoint file as saved; a clear `DetectorError` if it is not one of AA-CLIP's."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DetectorError(f"AA-CLIP checkpoint {path} is missing") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file in any way
        raise DetectorError(f"{path} is not a readable AA-CLIP checkpoint: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise DetectorError(f"{path} is not an AA-CLIP checkpoint: it has no '{key}' entry")
    return data


def _apply(module: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = sorted(
        f"{k} {tuple(state[k].shape)} instead of {tuple(expected[k].shape)}"
        for k in set(state) & set(expected)
        if state[k].shape != expected[k].shape
    )
    if missing or unexpected or wrong:
        raise DetectorError(
            f"{path} does not fit these adapters (backbone width, levels, adapted blocks or --relu differ): "
            f"missing {missing}, unexpected {unexpected}, mis-shaped {wrong}"
        )
    module.load_state_dict(state, strict=True)


def image_checkpoint_path(folder: Path) -> Path:
    """`image_adapter.pth`, else the latest `image_adapter_{epoch}.pth` (a folder from the reference's test set-up)."""
    folder = Path(folder)
    if (folder / IMAGE_FILE).is_file():
        return folder / IMAGE_FILE
    numbered = sorted(
        (int(m.group(1)), p) for p in folder.glob("image_adapter_*.pth") if (m := _EPOCH_FILE.search(p.name))
    )
    if numbered:
        return numbered[-1][1]
    raise DetectorError(
        f"{folder} holds no AA-CLIP image adapter ({IMAGE_FILE} or image_adapter_<epoch>.pth): "
        "choose a folder written by `zsad train --method aaclip` or by the reference code's train.py"
    )


def load_adapters(
    adapters: AACLIPAdapters, folder: Path | str, require_image: bool = True
) -> LoadedCheckpoint:
    """Load the folder's adapters strictly (no missing or unexpected names)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DetectorError(f"AA-CLIP checkpoint folder {folder} does not exist")
    text = image = {}
    if (folder / TEXT_FILE).is_file():
        text = read_part(folder / TEXT_FILE, "text_adapter")
        _apply(adapters.text_adapter, text["text_adapter"], folder / TEXT_FILE)
    if require_image or (folder / IMAGE_FILE).is_file():
        path = image_checkpoint_path(folder)
        image = read_part(path, "image_adapter")
        _apply(adapters.image_adapter, image["image_adapter"], path)
    return LoadedCheckpoint(_epoch(text), _epoch(image), text, image)


def _epoch(data: dict[str, Any]) -> int | None:
    return int(data.get("epoch", 0)) if data else None


def _save(data: dict[str, Any], path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(data, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def save_text_adapter(
    adapters: AACLIPAdapters, folder: Path, epoch: int, optimizer: dict | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"epoch": int(epoch), "text_adapter": _state(adapters.text_adapter)}
    if optimizer is not None:
        data["text_optimizer"] = optimizer
    _save(data, folder / TEXT_FILE)
    return folder / TEXT_FILE


def save_image_adapter(
    adapters: AACLIPAdapters,
    folder: Path,
    epoch: int,
    optimizer: dict | None = None,
    scheduler: dict | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"epoch": int(epoch), "image_adapter": _state(adapters.image_adapter)}
    if optimizer is not None:
        data["image_optimizer"] = optimizer
    if scheduler is not None:
        data["image_scheduler"] = scheduler  # not in the reference (it restarts its schedule on resume)
    _save(data, folder / IMAGE_FILE)
    return folder / IMAGE_FILE


def finish_folder(adapters: AACLIPAdapters, folder: Path, text_epoch: int | None, image_epoch: int) -> None:
    """A finished model: adapters without optimiser state, plus `image_adapter_{epoch}.pth` for the reference's test.py."""
    if text_epoch is not None:
        save_text_adapter(adapters, folder, text_epoch)
    save_image_adapter(adapters, folder, image_epoch)
    numbered = folder / f"image_adapter_{image_epoch}.pth"
    for old in folder.glob("image_adapter_*.pth"):
        old.unlink()
    try:
        os.link(folder / IMAGE_FILE, numbered)  # the same bytes twice without the disk space
    except OSError:
        shutil.copyfile(folder / IMAGE_FILE, numbered)

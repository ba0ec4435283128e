"""Load a CLIP backbone: open_clip name plus a pretrained tag or a checkpoint file.

Weights are looked for, in order, in `models/`, in open_clip's own caches, and
only then downloaded (with open_clip's progress bar). Without a network the
user gets one `WeightsMissingError` naming the file, where to put it and its
size, instead of a traceback or a storm of retries.
"""

from __future__ import annotations

import logging
import os
import socket
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import open_clip
import torch

from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.locations import models_dir, resources_dir

log = logging.getLogger(__name__)

#: sizes of the weight files users most often need, for the missing-file message
KNOWN_SIZES = {"ViT-L-14-336px.pt": "891 MB", "ViT-L-14.pt": "890 MB", "ViT-B-16.pt": "335 MB"}
RANDOM_WEIGHTS = "random"

open_clip.add_model_config(resources_dir() / "model_configs")


class WeightsMissingError(DetectorError):
    """The backbone's weight file is neither on disk nor downloadable."""


@dataclass(frozen=True)
class BackboneSpec:
    """Which CLIP to run: architecture, weights and input size.

    `pretrained` is an open_clip tag (``openai``), a path to a checkpoint file,
    or ``random`` (fixed-seed random weights, for tests and offline demos).
    """

    model_name: str = "ViT-L-14-336"
    pretrained: str = "openai"
    image_size: int = 518
    quick_gelu: bool | None = None  # None: what the pretrained tag says
    seed: int = 0

    @property
    def weights_label(self) -> str:
        if self.pretrained in (RANDOM_WEIGHTS,) or get_tag_config(self) is not None:
            return self.pretrained
        return Path(self.pretrained).name

    @property
    def identifier(self) -> str:
        return f"{self.model_name}:{self.weights_label}@{self.image_size}"


@dataclass
class Backbone:
    """A loaded, frozen CLIP with what it needs to preprocess and tokenize."""

    spec: BackboneSpec
    model: torch.nn.Module
    tokenizer: object
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device

    @property
    def patch_size(self) -> int:
        size = self.model.visual.patch_size
        return size[0] if isinstance(size, tuple) else int(size)

    @property
    def grid_size(self) -> tuple[int, int]:
        side = self.spec.image_size // self.patch_size
        return side, side

    @property
    def vision_width(self) -> int:
        return self.model.visual.conv1.out_channels

    @property
    def vision_layers(self) -> int:
        return len(self.model.visual.transformer.resblocks)

    @property
    def embed_dim(self) -> int:
        return self.model.visual.output_dim


def get_tag_config(spec: BackboneSpec) -> dict | None:
    return open_clip.get_pretrained_cfg(spec.model_name, spec.pretrained) or None


def expected_file_name(spec: BackboneSpec) -> str:
    cfg = get_tag_config(spec)
    if cfg and cfg.get("url"):
        return os.path.basename(cfg["url"])
    return f"{spec.model_name}-{spec.pretrained}.pt"


def resolve_weights(spec: BackboneSpec, allow_download: bool = True) -> Path | None:
    """Path of the weight file for `spec`, or None for random weights."""
    if spec.pretrained == RANDOM_WEIGHTS:
        return None
    cfg = get_tag_config(spec)
    if cfg is None:
        path = Path(spec.pretrained).expanduser()
        if not path.is_absolute() and not path.exists():
            path = models_dir() / path
        if not path.is_file():
            raise WeightsMissingError(
                f"Backbone weights not found: {spec.pretrained} is neither a pretrained tag of "
                f"{spec.model_name} ({', '.join(open_clip.list_pretrained_tags_by_model(spec.model_name)) or 'none'}) "
                f"nor a file. Put the checkpoint file in {models_dir()} or give its full path."
            )
        return path
    name = expected_file_name(spec)
    for candidate in _local_candidates(spec, cfg, name):
        if candidate.is_file():
            return candidate
    if allow_download and _network_available():
        try:
            return Path(open_clip.download_pretrained(cfg))
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one message
            log.warning("download of %s failed: %s", name, exc)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # later look-ups must not retry the network
    size = KNOWN_SIZES.get(name, "size not known here")
    raise WeightsMissingError(
        f"Backbone weights missing: {spec.model_name} with '{spec.pretrained}' weights needs the file "
        f"{name} ({size}), which is not on this machine and could not be downloaded. "
        f"Download it from {cfg.get('url') or cfg.get('hf_hub')} and put it at {models_dir() / name}."
    )


def _local_candidates(spec: BackboneSpec, cfg: dict, name: str) -> list[Path]:
    folder = models_dir()
    candidates = [folder / name, folder / f"{spec.model_name}-{spec.pretrained}.pt"]
    candidates.append(Path(os.path.expanduser("~/.cache/clip")) / name)
    hub = cfg.get("hf_hub", "")
    if hub:
        repo, filename = os.path.split(hub.rstrip("/")) if not hub.endswith("/") else (hub.rstrip("/"), "")
        for file in (
            [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        ):
            candidates.append(folder / repo.replace("/", "--") / file)
            try:
                from huggingface_hub import try_to_load_from_cache

                cached = try_to_load_from_cache(repo, file)
                if isinstance(cached, str):
                    candidates.append(Path(cached))
            except Exception:  # noqa: BLE001 - a broken cache is the same as none
                pass
    return candidates


def _network_available(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's state dict; OpenAI's TorchScript archives included."""
    if _is_torchscript(path):
        state = torch.jit.load(str(path), map_location="cpu").state_dict()
        for key in ("input_resolution", "context_length", "vocab_size", "attn_mask"):
            state.pop(key, None)
        return state
    return open_clip.factory.load_state_dict(str(path))  # safetensors, bins, {"state_dict": ...}


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.endswith("constants.pkl") or "/code/" in n for n in archive.namelist())


def load_backbone(spec: BackboneSpec, device: torch.device | str = "cpu") -> Backbone:
    """Build the CLIP of `spec`, load its weights, freeze it and move it to `device`."""
    if spec.model_name not in open_clip.list_models():
        raise DetectorError(
            f"unknown backbone {spec.model_name!r}; open_clip knows {len(open_clip.list_models())} models"
        )
    weights = resolve_weights(spec)
    cfg = get_tag_config(spec) or {}
    quick_gelu = spec.quick_gelu if spec.quick_gelu is not None else bool(cfg.get("quick_gelu", False))
    torch.manual_seed(spec.seed)
    previous = logging.root.level
    logging.root.setLevel(
        logging.ERROR
    )  # open_clip warns "no pretrained weights": we load them ourselves below
    try:
        model = open_clip.create_model(spec.model_name, pretrained=None, force_quick_gelu=quick_gelu)
    finally:
        logging.root.setLevel(previous)
    if weights is not None:
        state = read_state_dict(weights)
        state = open_clip.factory.convert_state_dict(model, state)
        open_clip.factory.resize_pos_embed(state, model)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise DetectorError(f"{weights} does not fit backbone {spec.model_name}: {exc}") from None
    model.eval().requires_grad_(False).to(device)
    pp = model.visual.preprocess_cfg if hasattr(model.visual, "preprocess_cfg") else {}
    mean = tuple(pp.get("mean", open_clip.OPENAI_DATASET_MEAN))
    std = tuple(pp.get("std", open_clip.OPENAI_DATASET_STD))
    tokenizer = open_clip.get_tokenizer(spec.model_name)
    return Backbone(spec, model, tokenizer, mean, std, torch.device(device))


_LOADED: dict[tuple[BackboneSpec, str], Backbone] = {}


def shared_backbone(spec: BackboneSpec, device: torch.device | str = "cpu") -> Backbone:
    """One frozen backbone per (spec, device), shared by every detector using it. The same weights at
    another input size (the first look at 336 beside 518) share one model: the size only changes the
    positional embedding, which is resized per grid outside the model."""
    key = (spec, str(device))
    if key not in _LOADED:
        same_weights = next(
            (
                loaded
                for (other, on), loaded in _LOADED.items()
                if on == str(device) and replace(other, image_size=spec.image_size) == spec
            ),
            None,
        )
        _LOADED[key] = replace(same_weights, spec=spec) if same_weights else load_backbone(spec, device)
    return _LOADED[key]

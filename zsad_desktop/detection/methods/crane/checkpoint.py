"""Crane's checkpoint format: `torch.save({"prompt_learner": state_dict})`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.detection.methods.crane.prompt_learner import CranePromptLearner

CHECKPOINT_KEY = "prompt_learner"


def load_prompt_checkpoint(learner: CranePromptLearner, path: Path | str) -> None:
    """Load every key and shape exactly; anything missing, extra or mis-shaped is named."""
    path = Path(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DetectorError(f"Crane checkpoint not found: {path}") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file in any way
        raise DetectorError(f"{path} is not a readable Crane checkpoint: {exc}") from None
    if not isinstance(data, dict) or CHECKPOINT_KEY not in data:
        raise DetectorError(f"{path} is not a Crane checkpoint: it has no '{CHECKPOINT_KEY}' entry")
    state = data[CHECKPOINT_KEY]
    expected = learner.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        details = []
        if missing:
            details.append(f"missing keys {missing}")
        if unexpected:
            details.append(f"unexpected keys {unexpected}")
        if wrong:
            details.append(
                "shape mismatch "
                + ", ".join(f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}" for k in wrong)
            )
        raise DetectorError(
            f"{path} does not fit this Crane model (text width {learner.ctx_pos.shape[-1]}): {'; '.join(details)}"
        )
    learner.load_state_dict(state, strict=True)


def save_prompt_checkpoint(learner: CranePromptLearner, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in learner.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    torch.save({CHECKPOINT_KEY: state}, tmp)
    os.replace(tmp, path)
    return path

"""Text anchors for the normal and abnormal state from prompt ensembles.

Every state phrase is combined with every template; per state the sentence
embeddings are normalised, averaged and normalised again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from zsad_desktop.detection.backbone import Backbone
from zsad_desktop.detection.execution import full_precision
from zsad_desktop.detection.interface import DetectorError
from zsad_desktop.locations import resources_dir


@dataclass(frozen=True)
class PromptEnsemble:
    normal_states: tuple[str, ...]
    abnormal_states: tuple[str, ...]
    templates: tuple[str, ...]

    @classmethod
    def from_file(cls, path: Path | None = None) -> PromptEnsemble:
        path = Path(path) if path else resources_dir() / "prompts" / "ensemble.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(tuple(data["normal_states"]), tuple(data["abnormal_states"]), tuple(data["templates"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DetectorError(f"prompt list {path} is unreadable: {exc}") from None

    def sentences(self, object_name: str) -> tuple[list[str], list[str]]:
        def expand(states: tuple[str, ...]) -> list[str]:
            return [t.format(s.format(object_name)) for s in states for t in self.templates]

        return expand(self.normal_states), expand(self.abnormal_states)


def encode_sentences(backbone: Backbone, sentences: list[str]) -> torch.Tensor:
    """Unit-norm CLIP text embeddings (N, D)."""
    tokens = backbone.tokenizer(sentences).to(backbone.device)
    return F.normalize(backbone.model.encode_text(tokens).float(), dim=-1)


def state_anchor(embeddings: torch.Tensor) -> torch.Tensor:
    return F.normalize(F.normalize(embeddings, dim=-1).mean(dim=0), dim=-1)


class TextAnchorCache:
    """Anchors are computed once per (prompt set, object name) and reused, across runs
    through the disk cache (`text_cache.py`) unless `on_disk` is off."""

    def __init__(self, backbone: Backbone, on_disk: bool = True):
        self.backbone = backbone
        self.on_disk = on_disk
        self._cache: dict[tuple, torch.Tensor] = {}

    def anchors(self, ensemble: PromptEnsemble, object_name: str) -> torch.Tensor:
        key = (ensemble, object_name)
        if key not in self._cache:
            normal, abnormal = ensemble.sentences(object_name)

            def compute() -> torch.Tensor:
                # float32 whatever the detector's precision: anchors are computed once and cached.
                with torch.inference_mode(), full_precision(self.backbone.device):
                    return torch.stack(
                        [
                            state_anchor(encode_sentences(self.backbone, normal)),
                            state_anchor(encode_sentences(self.backbone, abnormal)),
                        ]
                    )

            if self.on_disk:
                from zsad_desktop.detection.text_cache import cached_text

                stacked = cached_text(
                    "ensemble", self.backbone, {"normal": normal, "abnormal": abnormal}, compute
                )
            else:
                stacked = compute()
            self._cache[key] = stacked  # (2, D): row 0 normal, row 1 abnormal
        return self._cache[key]

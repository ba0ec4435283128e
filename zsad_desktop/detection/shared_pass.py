"""One backbone pass per image for every consumer.

A method whose forward pass runs the plain CLIP path untouched (same weights,
same resized positions, no adapters editing it) can hand that path's tokens of
any layers to another consumer from the very same pass: musc's tokens, the
normal memory's features. Such a method sets `shares_pass` and implements
`ClipDetector.predict_with_tokens`; the others say why not in `pass_note`
(shown where the method is chosen), and their consumers run a second pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from zsad_desktop.detection.dense import DenseConfig


class PassTokens:
    """Raw tokens of some layers (each (B, 1 + h*w, C), class token first) and unit class embeddings
    (B, D) of a set of images, kept on CPU."""

    def __init__(self, tokens: list[torch.Tensor], embeddings: torch.Tensor, grid: tuple[int, int]):
        self.tokens, self.embeddings, self.grid = tokens, embeddings, grid

    def __len__(self) -> int:
        return self.embeddings.shape[0]

    def select(self, indices) -> PassTokens:
        index = torch.as_tensor(list(indices), dtype=torch.long)
        return PassTokens([t[index] for t in self.tokens], self.embeddings[index], self.grid)

    @staticmethod
    def concatenate(parts: list[PassTokens]) -> PassTokens:
        layers = len(parts[0].tokens)
        return PassTokens(
            [torch.cat([p.tokens[i] for p in parts]) for i in range(layers)],
            torch.cat([p.embeddings for p in parts]),
            parts[0].grid,
        )


@dataclass(frozen=True)
class PassRequest:
    """What a consumer needs from another method's pass: these layers, with positions resized this way."""

    layers: tuple[int, ...]
    pos_interpolation: str
    pos_antialias: bool

    @classmethod
    def of(cls, config: DenseConfig) -> PassRequest:
        return cls(tuple(config.layers), config.pos_interpolation, config.pos_antialias)

    def met_by(self, config: DenseConfig) -> bool:
        """Whether a pass embedding its input as `config` yields exactly these tokens."""
        return (self.pos_interpolation, self.pos_antialias) == (
            config.pos_interpolation,
            config.pos_antialias,
        )

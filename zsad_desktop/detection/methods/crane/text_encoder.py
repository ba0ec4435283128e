"""CLIP's text tower run on prompt embeddings, with Crane's deep text prompts.

As in the reference, block 1 (0-based index 0) sees the prompt as built by
the prompt learner; each of the next `len(deep_prompts)` blocks first
replaces tokens 1..n (right after start-of-text, i.e. where the previous
block's deep prompt or the learned context sits) with its own deep prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from zsad_desktop.detection.backbone import Backbone


def encode_prompts(
    backbone: Backbone,
    prompts: torch.Tensor,
    tokens: torch.Tensor,
    deep_prompts: Sequence[torch.Tensor],
    fp16_deep: bool = True,
) -> torch.Tensor:
    """Text features (N, D), not normalised, of prompt embeddings (N, L, width)
    whose token ids (N, L) locate the end-of-text token."""
    model = backbone.model
    mask = model.attn_mask
    if mask is not None:
        # Causal attention: positions after the last end-of-text token cannot change any
        # end-of-text feature, so only the sentence is run (the same result, ~4x less work).
        length = int(tokens.argmax(dim=-1).max()) + 1
        prompts, mask = prompts[:, :length], mask[:length, :length]
    x = prompts + model.positional_embedding[: prompts.shape[1]].to(prompts.dtype)
    for index, block in enumerate(model.transformer.resblocks):
        if 1 <= index <= len(deep_prompts):
            deep = deep_prompts[index - 1]
            length = deep.shape[0]
            deep = deep.unsqueeze(0).expand(x.shape[0], -1, -1)
            if fp16_deep:
                # The reference casts the expanded prompts to half precision: features move by ~1e-5
                # and each prompt's gradient is rounded to float16 before the batch sum.
                deep = deep.half()
            x = torch.cat([x[:, :1], deep.to(x.dtype), x[:, 1 + length :]], dim=1)
        x = block(x, attn_mask=mask)
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
    return x @ model.text_projection

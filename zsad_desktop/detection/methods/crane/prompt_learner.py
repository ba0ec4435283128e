"""Crane's prompt learner: learnable context tokens and deep text prompts.

Parameter and buffer names are those of the authors' checkpoints
(`ctx_pos`, `ctx_neg`, `compound_prompts_text.N`, `token_prefix_*`,
`token_suffix_*`, `tokenized_prompts_*`), so their released files load as is.
Sentences: "X x 12 object." (normal) and "X x 12 damaged object." (abnormal),
the X tokens replaced by the learned context (`ctx_pos` normal, `ctx_neg`
abnormal). Given image embeddings, each image's normalised global embedding
is inserted as one more token right after the context and the sentence's
last (padding) token dropped (the paper's image-context conditioning, the
reference's "pad_suffix"). The deep text prompts `compound_prompts_text.N`
are used by `text_encoder.encode_prompts`.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from zsad_desktop.detection.backbone import Backbone


class CranePromptLearner(nn.Module):
    def __init__(
        self,
        backbone: Backbone,
        n_ctx: int = 12,
        deep_length: int = 4,
        deep_depth: int = 9,
        normal: str = "object",
        abnormal: str = "damaged object",
    ):
        super().__init__()
        model = backbone.model
        width = model.ln_final.weight.shape[0]
        self.n_ctx = n_ctx
        self.deep_length = deep_length
        self.compound_prompts_text = nn.ParameterList(
            [nn.Parameter(torch.empty(deep_length, width).normal_(std=0.02)) for _ in range(deep_depth - 1)]
        )
        self.ctx_pos = nn.Parameter(torch.empty(1, 1, n_ctx, width).normal_(std=0.02))
        self.ctx_neg = nn.Parameter(torch.empty(1, 1, n_ctx, width).normal_(std=0.02))
        filler = " ".join(["X"] * n_ctx)
        for state, sentence in (("pos", f"{filler} {normal}."), ("neg", f"{filler} {abnormal}.")):
            tokens = backbone.tokenizer([sentence]).to(model.token_embedding.weight.device)
            with torch.no_grad():
                embedding = model.token_embedding(tokens).float().reshape(1, 1, tokens.shape[1], width)
            self.register_buffer(f"tokenized_prompts_{state}", tokens.reshape(1, 1, -1).int())
            self.register_buffer(f"token_prefix_{state}", embedding[:, :, :1].clone())
            self.register_buffer(f"token_suffix_{state}", embedding[:, :, 1 + n_ctx :].clone())

    def forward(self, image_embedding: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt embeddings and token ids.

        Without an image: (2, L, D) and (2, L), normal then abnormal.
        With image embeddings (B, D): (B, 2, L, D) and (B, 2, L).
        """
        states = []
        for state in ("pos", "neg"):
            prefix = getattr(self, f"token_prefix_{state}")[0, 0]
            suffix = getattr(self, f"token_suffix_{state}")[0, 0]
            ctx = getattr(self, f"ctx_{state}")[0, 0]
            tokens = getattr(self, f"tokenized_prompts_{state}")[0, 0].long()
            if image_embedding is None:
                states.append((torch.cat([prefix, ctx, suffix]), tokens))
                continue
            b = image_embedding.shape[0]
            inserted = image_embedding.to(ctx.dtype).unsqueeze(1)  # (B, 1, D) after the context
            embeds = torch.cat(
                [prefix.expand(b, -1, -1), ctx.expand(b, -1, -1), inserted, suffix[:-1].expand(b, -1, -1)],
                dim=1,
            )
            at = 1 + self.n_ctx
            # The token ids shift by one so the end-of-text position moves with the sentence.
            shifted = torch.cat([tokens[:at], tokens[at : at + 1], tokens[at:-1]])
            states.append((embeds, shifted.expand(b, -1)))
        (pos, pos_tokens), (neg, neg_tokens) = states
        if image_embedding is None:
            return torch.stack([pos, neg]), torch.stack([pos_tokens, neg_tokens])
        return torch.stack([pos, neg], dim=1), torch.stack([pos_tokens, neg_tokens], dim=1)

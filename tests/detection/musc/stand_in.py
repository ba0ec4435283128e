"""Stand-in CLIP for comparing with the authors' MuSc code: 12 blocks (their encoder reads
block 12's attention, so it needs at least 12), width 64, patch 14 at 112 px (8 x 8 grid).

Weights come from a seeded generator in sorted parameter-name order, not from a
library's initialisation, so the authors' vendored open_clip and ours get the
same numbers. The same file is imported by the script run on their code.
"""

import torch

NAME = "MuScStandIn-ViT-14"
CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 112, "layers": 12, "width": 64, "head_width": 32, "patch_size": 14},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}
LAYERS = (3, 6, 9, 12)  # 1-based blocks read (their feature_layers [2, 5, 8, 11])
IMAGES = [  # under shared/data/mvtec_ad/hazelnut
    "train/good/000.png",
    "train/good/001.png",
    "train/good/002.png",
    "train/good/003.png",
    "test/crack/000.png",
    "test/hole/000.png",
]


@torch.no_grad()
def fill_visual(model: torch.nn.Module, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    params = dict(model.visual.named_parameters())
    for name in sorted(params):
        p = params[name]
        noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).float()
        if name.endswith(("ln_pre.weight", "ln_post.weight", "ln_1.weight", "ln_2.weight")):
            p.copy_(1.0 + 0.1 * noise)
        elif name.endswith("bias"):
            p.copy_(0.02 * noise)
        else:
            p.copy_(noise / max(1, p.shape[-1]) ** 0.5)

"""Not a test: the script that recorded THEIRS in test_reference_code.py.

Run outside the repository: unpack xrli-U/MuSc at b76b93d into DIR/MuSc, copy
this file to DIR and run it with this package's venv; it prints the numbers.
`python reference_run.py SIZE` runs at another input size: the stand-in is built
at its native 112 px, then its weights are loaded into their model built at SIZE
through their `resize_pos_embed`, as their `create_model` does for OpenAI weights
at a size other than the native one (bicubic, no antialias).
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "MuSc"))
sys.path.append(os.path.join(HERE, "MuSc/models/backbone"))
sys.path.append(os.environ.get("ZSAD_REPO", "/work/main"))
import models.backbone.open_clip as open_clip
from models.backbone.open_clip.model import resize_pos_embed
from models.modules._LNAMD import LNAMD
from models.modules._MSM import MSM
from models.modules._RsCIN import RsCIN

from tests.detection.musc import stand_in
from zsad_desktop.detection.preprocess import to_model_input
from zsad_desktop.imaging import read_rgb8

cfg_path = os.path.join(HERE, stand_in.NAME + ".json")
json.dump(stand_in.CONFIG, open(cfg_path, "w"))
open_clip.add_model_config(cfg_path)
SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 112
native, _, _ = open_clip.create_model_and_transforms(stand_in.NAME, 112, pretrained=None)
stand_in.fill_visual(native)
model, _, _ = open_clip.create_model_and_transforms(stand_in.NAME, SIZE, pretrained=None)
state = native.state_dict()
resize_pos_embed(state, model)
model.load_state_dict(state, strict=True)
model.eval()
side = SIZE // 14
images = [read_rgb8(f"/work/shared/data/mvtec_ad/hazelnut/{p}") for p in stand_in.IMAGES]
pixels = to_model_input(
    images, SIZE, open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD, torch.device("cpu")
)
device = torch.device("cpu")
features_list = list(stand_in.LAYERS)
# as make_category_data: one batch, then LNAMD per r, MSM per layer (0 to 0.3), means, max, RsCIN [1, 2, 3]
with torch.no_grad():
    image_features, patch_tokens = model.encode_image(pixels, features_list)
    image_features /= image_features.norm(dim=-1, keepdim=True)
    patch_tokens = [p.cpu() for p in patch_tokens]
anomaly_maps_r = torch.tensor([]).double()
for r in [1, 3, 5]:
    lnamd = LNAMD(device=device, r=r, feature_dim=patch_tokens[0].shape[-1], feature_layer=features_list)
    with torch.no_grad():
        feats = lnamd._embed(patch_tokens)
        feats /= feats.norm(dim=-1, keepdim=True)
    maps_l = torch.tensor([]).double()
    for l in range(len(features_list)):
        maps_l = torch.cat(
            (
                maps_l,
                MSM(Z=feats[:, :, l, :], device=device, topmin_min=0, topmin_max=0.3).unsqueeze(0).cpu(),
            ),
            0,
        )
    anomaly_maps_r = torch.cat((anomaly_maps_r, maps_l.mean(0).unsqueeze(0)), 0)
grid = anomaly_maps_r.mean(0)  # (N, side * side) before their interpolation to the input size
up = F.interpolate(
    grid.view(len(images), 1, side, side), size=SIZE, mode="bilinear", align_corners=True
).numpy()
ac_score = up.reshape(len(images), -1).max(-1)
scores = RsCIN(ac_score, [f.numpy() for f in image_features], k_list=[1, 2, 3])
g = grid.numpy()
out = {
    "token_layer3_first": patch_tokens[0][0, 1, :4].tolist(),
    "token_layer12_sum": float(patch_tokens[3].double().sum()),
    "grid_sum": g.sum(1).tolist(),
    "grid_max": g.max(1).tolist(),
    "grid_min": g.min(1).tolist(),
    "grid_first_image_row0": g[0, :side].tolist(),
    "grid_crack_argmax": int(g[4].argmax()),
    "raw_scores": ac_score.tolist(),
    "rscin_scores": np.asarray(scores).tolist(),
}
print(json.dumps(out, indent=1))

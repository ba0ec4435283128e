"""`musc`: zero-shot detection by mutual scoring of the images of a folder.

A folder is scored as a whole (`score_folder`), in subsets of at most
`subset_size` images (their `divide_num`), each image against the others of
its subset. To fit the one-image interface, `predict` scores each image against
a reference sample of the folder (`set_references`): the image on screen is
scored at once, the whole folder later.

At an input size other than the backbone's native one the position embedding
is resized bicubic without antialias, as the authors' open_clip copy does.
`gelu` picks the MLP activation: None keeps the weights' own (QuickGELU for
OpenAI's); "exact" is what the authors' code builds for every backbone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zsad_desktop.detection.clip_detector import ClipDetector
from zsad_desktop.detection.dense import DenseAttention, DenseConfig, DenseFeatureExtractor
from zsad_desktop.detection.interface import Detection, DetectorError, register_method
from zsad_desktop.detection.methods.musc.scoring import (
    DEGREES,
    RSCIN_K,
    TOP_FRACTION,
    lnamd,
    mutual_scores,
    rscin,
)
from zsad_desktop.detection.preprocess import to_model_input
from zsad_desktop.detection.shared_pass import PassRequest, PassTokens

Progress = Callable[[int, int], None]  # (done, total) images
Cancel = Callable[[], bool]
GELUS = ("quick", "exact")
#: their resize_pos_embed: F.interpolate(mode="bicubic", align_corners=False), torch's default antialias=False
POSITION_EMBEDDING = {"pos_interpolation": "bicubic", "pos_antialias": False}


def default_layers(depth: int) -> tuple[int, ...]:
    """Their ViT-L layers 6, 12, 18, 24 (1-based) are the quarters of the depth."""
    return tuple(sorted({depth // 4, depth // 2, 3 * depth // 4, depth} - {0}))


FolderFeatures = PassTokens  # raw tokens and unit class embeddings of a set of images (kept on CPU)


@register_method("musc")
class MuscDetector(ClipDetector):
    pass_note = (
        "scores its own tokens against references; the normal memory's features take a second backbone pass"
    )

    def __init__(
        self,
        *,
        layers: tuple[int, ...] | None = None,
        degrees: tuple[int, ...] = DEGREES,
        top_fraction: float = TOP_FRACTION,
        rscin_k: tuple[int, ...] = RSCIN_K,
        subset_size: int = 200,
        reference_size: int = 16,
        seed: int = 0,
        grid_sigma: float = 0.0,  # their maps are not smoothed
        gelu: str | None = None,
        approximate: bool = False,  # nearest patches from a random projection, re-ranked exactly
        pos_antialias: bool = False,  # True: as the other methods resize (a normal memory sharing their pass)
        **common: Any,
    ):
        if gelu is not None and gelu not in GELUS:
            raise DetectorError(f"gelu must be one of {GELUS} ('exact' as the authors' code), not {gelu!r}")
        if gelu is not None and common.get("backbone") is None:
            common["quick_gelu"] = gelu == "quick"
        super().__init__(grid_sigma=grid_sigma, **common)
        self.gelu = backbone_gelu(self.backbone)
        if gelu is not None and gelu != self.gelu:
            raise DetectorError(
                f"the backbone handed to musc runs {self.gelu} GELU, not the {gelu} asked for"
            )
        layers = tuple(layers) if layers else default_layers(self.backbone.vision_layers)
        config = DenseConfig(
            layers=layers,
            attention=DenseAttention.NONE,
            start_layer=min(layers),
            **{**POSITION_EMBEDDING, "pos_antialias": pos_antialias},
        )
        self.features = DenseFeatureExtractor(self.backbone, config, self.engine)
        self.degrees, self.top_fraction, self.rscin_k = tuple(degrees), top_fraction, tuple(rscin_k)
        self.subset_size, self.reference_size, self.seed = max(2, subset_size), reference_size, seed
        self.approximate = approximate
        self._refs: FolderFeatures | None = None
        self._ref_scores: torch.Tensor | None = None
        self._ref_digest = "none"

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "layers": self.features.config.layers,
            "gelu": self.gelu,
            "position_embedding": "bicubic, antialias"
            if self.features.config.pos_antialias
            else "bicubic, no antialias",
            "degrees": self.degrees,
            "top_fraction": self.top_fraction,
            "rscin_k": self.rscin_k,
            "subset_size": self.subset_size,
            "seed": self.seed,
            "approximate": self.approximate,
            "references": self._ref_digest,
        }

    def score_grid(self, pixels: torch.Tensor):  # the folder, not one batch, is the unit here
        raise NotImplementedError("musc scores folders: use score_folder or predict")

    # -- features ---------------------------------------------------------
    def extract(
        self, images: Sequence[np.ndarray], progress: Progress | None = None, cancel: Cancel | None = None
    ) -> FolderFeatures:
        spec = self.backbone.spec
        tokens: list[list[torch.Tensor]] = []
        embeddings, grid = [], (0, 0)
        for start in range(0, len(images), self.batch_size):
            if cancel is not None and cancel():
                raise InterruptedError("cancelled")
            batch = [images[i] for i in range(start, min(start + self.batch_size, len(images)))]
            pixels = to_model_input(
                batch, spec.image_size, self.backbone.mean, self.backbone.std, self.device
            )
            with torch.inference_mode(), self.autocast():
                feats = self.features(pixels)
            tokens.append([t.float().cpu() for t in feats.patch_tokens])
            embeddings.append(F.normalize(feats.global_embedding.float(), dim=-1).cpu())
            grid = feats.grid
            if progress is not None:
                progress(start + len(batch), len(images))
        layers = [torch.cat([t[i] for t in tokens]) for i in range(len(self.features.config.layers))]
        return FolderFeatures(layers, torch.cat(embeddings), grid)

    def patch_features(
        self, images: Sequence[np.ndarray], degree: int = 3
    ) -> tuple[torch.Tensor, tuple[int, int]]:
        """(N, h*w, layers*C) locally aggregated patch features, e.g. for a normal memory."""
        return self.aggregate(self.extract(images), degree)

    def aggregate(self, feats: PassTokens, degree: int = 3) -> tuple[torch.Tensor, tuple[int, int]]:
        """`patch_features` from tokens already taken (its own pass's or a shared one's)."""
        return lnamd(feats.tokens, feats.grid, degree).flatten(2), feats.grid

    def pass_request(self) -> PassRequest:
        """The tokens it reads, for a method that can hand them from its own pass (shared_pass.py)."""
        return PassRequest.of(self.features.config)

    def grid_to_heatmap(
        self, grid_values: torch.Tensor, grid: tuple[int, int], shape: tuple[int, int]
    ) -> np.ndarray:
        """(h*w,) patch values to a map at the image's size, as this detector's maps."""
        return self.finish_map(grid_values.reshape(grid).float().numpy(), shape)

    # -- scoring ----------------------------------------------------------
    def grid_maps(
        self, query: FolderFeatures, refs: FolderFeatures | None = None, cancel: Cancel | None = None
    ) -> torch.Tensor:
        """(N, h, w) maps: each query image against the others (refs None) or against refs."""
        # One layer at a time: a 200-image subset's LayerNormed tokens at ViT-L are 1.1 GB a layer.
        maps = torch.zeros(len(self.degrees), len(query), query.grid[0] * query.grid[1], dtype=torch.float64)
        products = torch.bfloat16 if self.execution.dtype(self.device) == torch.bfloat16 else torch.float32
        for layer in range(len(query.tokens)):  # all degrees of a layer from one product per pair
            refs_layer = None if refs is None else refs.tokens[layer].to(self.device)
            scores = mutual_scores(
                query.tokens[layer].to(self.device),
                query.grid,
                self.degrees,
                refs_layer,
                self.top_fraction,
                cancel,
                approximate=self.approximate,
                dtype=products,
            )
            maps += scores.double().cpu()
        maps /= len(query.tokens)  # mean over layers, then over degrees, as theirs
        return maps.mean(0).reshape(len(query), *query.grid)

    def raw_scores(self, grid_maps: torch.Tensor) -> torch.Tensor:
        """Image scores before RsCIN: as their code, the maximum of the map upsampled to the
        input size with align_corners=True (which misses most grid points, so not the grid max)."""
        size = self.backbone.spec.image_size
        up = F.interpolate(grid_maps[:, None], size=(size, size), mode="bilinear", align_corners=True)
        return up.flatten(1).max(1).values

    def score_folder(
        self, images: Sequence[np.ndarray], progress: Progress | None = None, cancel: Cancel | None = None
    ) -> list[Detection]:
        """Every image of a folder scored against the others of its subset.

        `images` may be a lazy sequence (decoding on indexing); progress gets
        (done, total) counted over feature extraction and scoring; `cancel`
        returning True raises InterruptedError between images."""
        n = len(images)
        if n < 2:
            raise DetectorError("musc needs at least two images of the same product to compare")
        subsets = folder_subsets(n, self.subset_size, self.seed)
        maps = [None] * n
        embeddings = torch.zeros(n, self.backbone.embed_dim)
        done = 0
        for subset in subsets:
            sub_images = _Indexed(images, subset)
            feats = self.extract(sub_images, None, cancel)
            for i, grid_map in zip(subset, self.grid_maps(feats, cancel=cancel)):
                maps[i] = grid_map
            embeddings[subset] = feats.embeddings
            done += len(subset)
            if progress is not None:
                progress(done, n)
        grid_maps = torch.stack(maps)
        scores = rscin(self.raw_scores(grid_maps), embeddings.double(), self.rscin_k)
        return self._detections(images, range(n), grid_maps, scores)

    def score_subset(self, images: Sequence[np.ndarray], cancel: Cancel | None = None) -> list[Detection]:
        """Images of one subset scored against each other, RsCIN within the subset (results that can land
        before the rest of the folder is scored)."""
        feats = self.extract(images, None, cancel)
        grid_maps = self.grid_maps(feats, cancel=cancel)
        scores = rscin(self.raw_scores(grid_maps), feats.embeddings.double(), self.rscin_k)
        return self._detections(images, range(len(images)), grid_maps, scores)

    def set_references(self, images: Sequence[np.ndarray], cancel: Cancel | None = None) -> None:
        """A sample of the folder (at most `reference_size`, chosen with the seed) to score single images against."""
        if len(images) < 2:
            raise DetectorError("musc needs at least two reference images")
        chosen = folder_subsets(len(images), self.reference_size, self.seed)[0]
        sample = _Indexed(images, chosen)
        digest = hashlib.sha1()
        for i in range(len(sample)):
            digest.update(np.ascontiguousarray(sample[i]).tobytes()[::997])
        self.use_references(self.extract(sample, None, cancel), digest.hexdigest()[:10], cancel)

    def use_references(self, refs: PassTokens, label: str, cancel: Cancel | None = None) -> None:
        """Score single images against `refs` (features taken already, e.g. cached); `label` names them
        in the model id."""
        if len(refs) < 2:
            raise DetectorError("musc needs at least two reference images")
        self._ref_scores = self.raw_scores(self.grid_maps(refs, cancel=cancel))
        self._refs, self._ref_digest = refs, label

    def predict(self, images: Sequence[np.ndarray]) -> list[Detection]:
        """Each image against the reference sample (RsCIN over sample + images)."""
        if self._refs is None:
            if len(images) < 2:
                raise DetectorError(
                    "musc scores an image against others: set references from the folder first"
                )
            return self.score_folder(images)
        query = self.extract(images)
        grid_maps = self.grid_maps(query, self._refs)
        raw = torch.cat([self.raw_scores(grid_maps), self._ref_scores])
        emb = torch.cat([query.embeddings, self._refs.embeddings]).double()
        scores = rscin(raw, emb, self.rscin_k)[: len(images)]
        return self._detections(images, range(len(images)), grid_maps, scores)

    def _detections(self, images, indices, grid_maps: torch.Tensor, scores: torch.Tensor) -> list[Detection]:
        model_id = self.model_id
        maps_np, scores_np = grid_maps.float().numpy(), scores.float().numpy()
        return [
            Detection(float(scores_np[k]), self.finish_map(maps_np[k], images[i].shape[:2]), model_id)
            for k, i in enumerate(indices)
        ]


def backbone_gelu(backbone) -> str:
    """ "quick" or "exact": the MLP activation the backbone was built with."""
    gelu = getattr(backbone.model.visual.transformer.resblocks[0].mlp, "gelu", None)
    return "quick" if type(gelu).__name__ == "QuickGELU" else "exact"


def folder_subsets(n: int, size: int, seed: int) -> list[list[int]]:
    """Split n images into ceil(n / size) near-equal random subsets (their divide_num)."""
    if n <= size:
        return [list(range(n))]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    parts = min(-(-n // size), n // 2)  # never a subset of one image
    return [sorted(order[i::parts]) for i in range(parts)]


class _Indexed:
    """A view of some items of a (possibly lazy) sequence."""

    def __init__(self, items, indices):
        self.items, self.indices = items, list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.items[self.indices[i]]

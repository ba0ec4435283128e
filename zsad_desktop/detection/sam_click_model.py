"""SAM (Segment Anything, Meta) as a click model: an image, its current mask and the clicks in, a mask out.

The prompts are the clicks (SAM's point prompts) and the current mask (SAM's mask prompt: the low
resolution logits its decoder reads, made from the binary mask in SAM's own geometry: the longest
side resized to the encoder's size, padded at the bottom and right, a quarter of that a side), so a
click refines the mask instead of starting from nothing. The image embedding, the costly part, is
kept per image content: a second click on the same image (or the same tile of a large one) runs
only the prompt encoder and the mask decoder.

Weights are Meta's released checkpoints, plain state dicts; which architecture (vit_b, vit_l,
vit_h) is read from the file name, as segment_anything's registry names them. The package
`segment-anything` is optional (extra `sam`); everything here says in one line what is missing.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from zsad_desktop.detection.interface import DetectorError

#: the released checkpoints, by architecture (https://github.com/facebookresearch/segment-anything)
RELEASED = {
    "vit_b": "sam_vit_b_01ec64.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_h": "sam_vit_h_4b8939.pth",
}
DOWNLOADS = "https://dl.fbaipublicfiles.com/segment_anything/"
MASK_LOGIT = (
    6.0  # the mask prompt's logit inside the mask (minus it outside), as interactive SAM tools pass a mask
)
EMBEDDINGS_KEPT = 4  # image embeddings kept (4 MB each at 1024 px)


class SamUnavailable(DetectorError):
    """The SAM click model cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class SamShape:
    """The sizes that tell SAM's architectures apart (segment_anything.build_sam's arguments)."""

    embed_dim: int
    depth: int
    num_heads: int
    global_attn_indexes: tuple[int, ...]
    image_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    prompt_dim: int = 256
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_heads: int = 8
    iou_head_hidden: int = 256


VARIANTS = {
    "vit_b": SamShape(768, 12, 12, (2, 5, 8, 11)),
    "vit_l": SamShape(1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": SamShape(1280, 32, 16, (7, 15, 23, 31)),
}


def variant_of(path: Path) -> str:
    """vit_b, vit_l or vit_h, from the checkpoint's file name (sam_vit_b_01ec64.pth: vit_b)."""
    found = re.search(r"vit_([bhl])", path.name.lower())
    if found is None:
        names = ", ".join(RELEASED.values())
        raise SamUnavailable(
            f"{path.name}: keep the released file name ({names}) so the architecture is known"
        )
    return f"vit_{found.group(1)}"


def build_sam(shape: SamShape) -> Any:
    """An untrained Sam of this shape, assembled from segment_anything's modules as its registry does."""
    try:
        from segment_anything.modeling import (
            ImageEncoderViT,
            MaskDecoder,
            PromptEncoder,
            Sam,
            TwoWayTransformer,
        )
    except ImportError as error:
        raise SamUnavailable(
            f"the SAM click model needs the segment-anything package ({error}): pip install 'zsad-desktop[sam]'"
        ) from None
    grid = shape.image_size // shape.patch_size
    return Sam(
        image_encoder=ImageEncoderViT(
            img_size=shape.image_size,
            patch_size=shape.patch_size,
            embed_dim=shape.embed_dim,
            depth=shape.depth,
            num_heads=shape.num_heads,
            mlp_ratio=4,
            out_chans=shape.prompt_dim,
            qkv_bias=True,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True,
            window_size=shape.window_size,
            global_attn_indexes=shape.global_attn_indexes,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=shape.prompt_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(shape.image_size, shape.image_size),
            mask_in_chans=shape.mask_in_chans,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=shape.decoder_depth,
                embedding_dim=shape.prompt_dim,
                mlp_dim=shape.decoder_mlp_dim,
                num_heads=shape.decoder_heads,
            ),
            transformer_dim=shape.prompt_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=shape.iou_head_hidden,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    ).eval()


def _state_dict(path: Path, mmap: bool = False) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors; with `mmap`, mapped rather than read (enough to check their shapes)."""
    try:
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            loaded = torch.load(path, map_location="cpu", weights_only=True)  # a file of torch's old format
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        raise SamUnavailable(
            f"{path} is not a readable checkpoint ({type(error).__name__}: {error})"
        ) from None
    if isinstance(loaded, dict) and isinstance(loaded.get("model"), dict):  # fine-tuned copies often wrap it
        loaded = loaded["model"]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise SamUnavailable(f"{path} holds no state dict of tensors, as SAM's released checkpoints do")
    return loaded


def _check_fits(path: Path, variant: str, model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    reshaped = [k for k in expected if k in weights and tuple(weights[k].shape) != expected[k]]
    if not (missing or unexpected or reshaped):
        return
    parts = [f"{len(x)} {what}" for x, what in ((reshaped, "of another shape"), (missing, "missing")) if x]
    parts += [f"{len(unexpected)} unexpected"] if unexpected else []
    first = (
        f"{reshaped[0]} is {tuple(weights[reshaped[0]].shape)}, SAM {variant} has {expected[reshaped[0]]}"
        if reshaped
        else f"e.g. {(missing or unexpected)[0]}"
    )
    raise SamUnavailable(f"{path.name} does not fit SAM {variant}: weights {', '.join(parts)} ({first})")


def _variant(path: Path, shape: SamShape | None) -> tuple[str, SamShape]:
    if not path.is_file():
        raise SamUnavailable(f"no SAM checkpoint at {path}")
    if shape is not None:
        return "given shape", shape
    variant = variant_of(path)
    return variant, VARIANTS[variant]


def check_checkpoint(path: Path | str, shape: SamShape | None = None) -> None:
    """Raise SamUnavailable unless the file holds SAM weights of the architecture its name says; quick
    (the model is built without memory, the file mapped), so a choice is answered at once."""
    path = Path(path)
    variant, found = _variant(path, shape)
    with torch.device("meta"):
        model = build_sam(found)
    _check_fits(path, variant, model, _state_dict(path, mmap=True))


def load_sam(path: Path | str, shape: SamShape | None = None, device: str = "cpu") -> SamClicks:
    """The click model from a released checkpoint; `shape` overrides the architecture of the name."""
    path = Path(path)
    variant, found = _variant(path, shape)
    model = build_sam(found)
    weights = _state_dict(path)
    _check_fits(path, variant, model, weights)
    model.load_state_dict(weights)
    return SamClicks(model.to(device))


def mask_prompt(mask: np.ndarray, image_size: int, low_res: int) -> np.ndarray:
    """The binary mask as SAM's mask prompt: (1, 1, low_res, low_res) logits in the geometry of an
    image resized to `image_size` on its longest side and padded at the bottom and right; +MASK_LOGIT
    inside, -MASK_LOGIT outside and in the padding, in between on the outline (area resampling)."""
    from segment_anything.utils.transforms import ResizeLongestSide

    h, w = mask.shape
    new_h, new_w = ResizeLongestSide.get_preprocess_shape(h, w, image_size)
    scale = low_res / image_size
    small_h, small_w = max(1, round(new_h * scale)), max(1, round(new_w * scale))
    share = cv2.resize(mask.astype(np.float32), (small_w, small_h), interpolation=cv2.INTER_AREA)
    logits = np.full((low_res, low_res), -MASK_LOGIT, np.float32)
    logits[:small_h, :small_w] = MASK_LOGIT * (2.0 * share - 1.0)
    return logits[None, None]


class SamClicks:
    """A loaded SAM with its image embeddings kept; safe to call from one worker thread at a time."""

    def __init__(self, sam: Any):
        from segment_anything.utils.transforms import ResizeLongestSide

        self.sam = sam
        self.transform = ResizeLongestSide(sam.image_encoder.img_size)
        self._embeddings: OrderedDict[bytes, tuple[torch.Tensor, tuple[int, int]]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def device(self) -> torch.device:
        return next(self.sam.parameters()).device

    def embedding(
        self, image: np.ndarray, before_encoding: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[int, int]]:
        """The image's embedding and its size once resized; computed once per image content
        (`before_encoding` is called when it is computed, the slow part)."""
        digest = hashlib.blake2b(str(image.shape).encode(), digest_size=16)
        digest.update(np.ascontiguousarray(image).data)
        key = digest.digest()
        with self._lock:
            if key in self._embeddings:
                self._embeddings.move_to_end(key)
                return self._embeddings[key]
        if before_encoding is not None:
            before_encoding()
        rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
        resized = self.transform.apply_image(np.ascontiguousarray(rgb[..., :3], np.uint8))
        pixels = torch.as_tensor(resized, device=self.device).permute(2, 0, 1)[None].contiguous()
        with torch.inference_mode():
            features = self.sam.image_encoder(self.sam.preprocess(pixels))
        found = (features, (int(resized.shape[0]), int(resized.shape[1])))
        with self._lock:
            self._embeddings[key] = found
            while len(self._embeddings) > EMBEDDINGS_KEPT:
                self._embeddings.popitem(last=False)
        return found

    def segment(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        points: np.ndarray,
        positive: np.ndarray,
        before_encoding: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """The bool mask SAM makes of `image` (uint8, grey or RGB) from the current `mask` and the clicks:
        `points` (N, 2) pixel columns and rows, `positive` (N,) True for "defect here"."""
        h, w = mask.shape
        features, input_size = self.embedding(image, before_encoding)
        coords = self.transform.apply_coords(np.asarray(points, np.float64) + 0.5, (h, w))  # pixel centres
        device = self.device
        coords_t = torch.as_tensor(coords, dtype=torch.float32, device=device)[None]
        labels_t = torch.as_tensor(np.asarray(positive, bool).astype(np.int64), device=device)[None]
        # an empty mask says nothing: SAM then reads its own "no mask" embedding, as on a first click
        prompt = None
        if mask.any():
            low_res = int(self.sam.prompt_encoder.mask_input_size[0])
            prompt = torch.as_tensor(
                mask_prompt(mask, self.sam.image_encoder.img_size, low_res), device=device
            )
        # one click alone is ambiguous (part, object, whole): SAM offers three and rates them
        several = prompt is None and len(points) == 1
        with torch.inference_mode():
            sparse, dense = self.sam.prompt_encoder(points=(coords_t, labels_t), boxes=None, masks=prompt)
            low, quality = self.sam.mask_decoder(
                image_embeddings=features,
                image_pe=self.sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=several,
            )
            best = int(quality[0].argmax())
            logits = self.sam.postprocess_masks(low[:, best : best + 1], input_size, (h, w))
        return (logits[0, 0] > self.sam.mask_threshold).cpu().numpy()

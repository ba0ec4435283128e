"""Images to model input and score maps back to each image's own size."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter


def to_model_input(
    images: Sequence[np.ndarray], size: int, mean: Sequence[float], std: Sequence[float], device: torch.device
) -> torch.Tensor:
    """RGB uint8 (H, W, 3) images -> normalised (B, 3, size, size), resized
    bicubic without centre crop so the whole image is scored. Pillow's bicubic,
    as both papers' code uses: OpenCV's differs when shrinking large images."""
    batch = np.stack(
        [np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BICUBIC)) for img in images]
    )
    tensor = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    mean_t = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, 3, 1, 1)
    return (tensor - mean_t) / std_t


def grid_to_image(score_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A (h, w) map to the image's (H, W), bilinear, float32."""
    return cv2.resize(score_map.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def smooth(score_map: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(score_map, sigma=sigma).astype(np.float32) if sigma > 0 else score_map

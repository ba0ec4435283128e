"""Which model turns the reviewer's clicks into a mask: the built-in one (graph cut on the image's
edges, no weights) or SAM (Meta's Segment Anything, optional, with weights in models/sam/).

Both take the same things and give the same thing: the crop around the click as the reviewer sees
it (uint8), its heatmap (None without one), its current mask and every click in it, oldest first;
out comes the crop's new bool mask. SAM reads the clicks and the current mask (not the heatmap).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from zsad_desktop.app.viewer import click_correction
from zsad_desktop.app.viewer.click_correction import Click
from zsad_desktop.locations import models_dir

if TYPE_CHECKING:
    from zsad_desktop.detection.sam_click_model import SamClicks, SamShape

EDGES, SAM = "edges", "sam"
NAMES = (EDGES, SAM)
SAM_TILE = 1024  # on a larger image SAM sees a tile of this side (its own input size)...
SAM_STRIDE = 512  # ...on a fixed grid, so clicks near each other share a tile and its embedding
Box = tuple[int, int, int, int]  # top, left, bottom, right


class ClickModel(Protocol):
    name: str
    key: tuple[str, ...]  # the same key: the same model (its loaded weights and embeddings can be kept)

    def neighbourhood(
        self, shape: tuple[int, int], mask: np.ndarray, click: Click, clicks: Sequence[Click] = ()
    ) -> Box: ...

    def correct(
        self, image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, clicks: Sequence[Click]
    ) -> np.ndarray: ...


class EdgesClickModel:
    """The built-in model (click_correction.py): no weights, always there."""

    name = EDGES
    key: tuple[str, ...] = (EDGES,)

    def neighbourhood(
        self, shape: tuple[int, int], mask: np.ndarray, click: Click, clicks: Sequence[Click] = ()
    ) -> Box:
        return click_correction.click_neighbourhood(shape, mask, click, clicks)

    def correct(
        self, image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, clicks: Sequence[Click]
    ) -> np.ndarray:
        return click_correction.correct_with_clicks(image, heatmap, mask, clicks)


EDGES_MODEL = EdgesClickModel()


def sam_folder() -> Path:
    return models_dir() / "sam"


def find_sam_checkpoint(given: str | Path = "") -> Path | None:
    """The checkpoint to use: the one given, else a released one in models/sam/ (vit_b first: the fastest)."""
    from zsad_desktop.detection.sam_click_model import RELEASED

    if str(given).strip():
        return Path(given).expanduser()
    for name in RELEASED.values():
        if (sam_folder() / name).is_file():
            return sam_folder() / name
    found = sorted(sam_folder().glob("sam_vit_*.pth"))
    return found[0] if found else None


def sam_label(given: str | Path = "") -> str:
    """How the choice reads in the settings: 'SAM (models/sam/sam_vit_b_01ec64.pth)' or what it needs."""
    from zsad_desktop.detection.sam_click_model import RELEASED

    found = find_sam_checkpoint(given)
    if found is not None and found.is_file():
        return f"SAM ({found})"
    return f"SAM (needs {sam_folder() / RELEASED['vit_b']})"


def click_model_note(name: str, checkpoint: str | Path = "") -> str:
    """What stops the model named from being used, in one line ("" when it can be)."""
    from zsad_desktop.detection.interface import DetectorError

    try:
        choose_click_model(name, checkpoint, "cpu")
    except (ValueError, DetectorError) as error:
        return str(error)
    return ""


def choose_click_model(
    name: str, checkpoint: str | Path = "", device: str = "auto", shape: SamShape | None = None
) -> ClickModel:
    """The model named (edges or sam). SAM is checked here (package, file, the weights' shapes against
    the architecture its name says, or `shape`) and loaded at its first click on the worker; what stops
    it raises SamUnavailable with one line saying what would enable it."""
    from zsad_desktop.detection.sam_click_model import DOWNLOADS, RELEASED, SamUnavailable, check_checkpoint

    if name == EDGES:
        return EDGES_MODEL
    if name != SAM:
        raise ValueError(f"no click model called {name!r}: choose one of {', '.join(NAMES)}")
    found = find_sam_checkpoint(checkpoint)
    if found is None or not found.is_file():
        given = f" (nothing at {found})" if found is not None else ""
        raise SamUnavailable(
            f"The SAM click model needs its weights{given}: put {RELEASED['vit_b']} (or {RELEASED['vit_l']}, "
            f"{RELEASED['vit_h']}; from {DOWNLOADS}) in {sam_folder()}; the built-in click model stays in use"
        )
    if importlib.util.find_spec("segment_anything") is None:
        raise SamUnavailable(
            "The SAM click model needs the segment-anything package: pip install 'zsad-desktop[sam]'; "
            "the built-in click model stays in use"
        )
    try:
        check_checkpoint(found, shape)
    except SamUnavailable as error:
        raise SamUnavailable(f"{error}; the built-in click model stays in use") from None
    return SamClickModel(found, device, shape)


class SamClickModel:
    """SAM behind the click tool's interface: loaded on first use, its embeddings kept per image or tile."""

    name = SAM

    def __init__(self, checkpoint: Path, device: str = "auto", shape: SamShape | None = None):
        self.checkpoint, self.device, self.shape = Path(checkpoint), device, shape
        self.key: tuple[str, ...] = (SAM, str(self.checkpoint.resolve()), device)
        #: told (on the worker) when an image's embedding is to be computed: the reviewer waits for it
        self.notice: Callable[[str], None] | None = None
        self._sam: SamClicks | None = None
        self._lock = threading.Lock()

    def loaded(self) -> SamClicks:
        with self._lock:
            if self._sam is None:
                from zsad_desktop.detection.device import select_device
                from zsad_desktop.detection.sam_click_model import load_sam

                self._sam = load_sam(self.checkpoint, self.shape, str(select_device(self.device)))
            return self._sam

    def neighbourhood(
        self, shape: tuple[int, int], mask: np.ndarray, click: Click, clicks: Sequence[Click] = ()
    ) -> Box:
        """The whole image up to SAM_TILE a side; on a larger one the grid tile whose middle is nearest
        the click (at least a quarter tile from its inner edges)."""
        h, w = shape
        if not (0 <= click.x < w and 0 <= click.y < h):
            raise ValueError(f"click at ({click.x}, {click.y}) is outside the {w} x {h} image")
        top, bottom = _tile(click.y, h)
        left, right = _tile(click.x, w)
        return top, left, bottom, right

    def correct(
        self, image: np.ndarray, heatmap: np.ndarray | None, mask: np.ndarray, clicks: Sequence[Click]
    ) -> np.ndarray:
        image, mask = np.asarray(image), np.asarray(mask, bool)
        if image.shape[:2] != mask.shape or image.dtype != np.uint8:
            raise ValueError(f"SAM reads a uint8 image of the mask's size, not {image.dtype} {image.shape}")
        clicks = [Click(int(c.x), int(c.y), bool(c.positive)) for c in clicks]
        if not clicks:
            return mask.copy()
        points = np.array([(c.x, c.y) for c in clicks], np.float64)
        made = self.loaded().segment(
            image, mask, points, np.array([c.positive for c in clicks]), self._say_encoding
        )
        return keep_to_clicked_regions(mask, made, clicks)

    def _say_encoding(self) -> None:
        if self.notice is not None:
            self.notice(
                "SAM is reading this image for its first click (a fraction of a second on a GPU, up to "
                "a minute on a CPU); later clicks on it are quick"
            )


def _tile(position: int, size: int) -> tuple[int, int]:
    if size <= SAM_TILE:
        return 0, size
    start = round((position - SAM_TILE / 2) / SAM_STRIDE) * SAM_STRIDE
    start = min(max(0, start), size - SAM_TILE)
    return int(start), int(start + SAM_TILE)


def keep_to_clicked_regions(before: np.ndarray, made: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
    """`made` where it concerns the clicks, `before` elsewhere: SAM answers for one object, so a region
    of the mask that no click is in or touches stays as it was, and nothing appears away from the clicks.
    The click pixels themselves end up as they say (hard constraints)."""
    either = (before | made).astype(np.uint8)
    _, regions = cv2.connectedComponents(either, connectivity=8)
    clicked = {int(regions[c.y, c.x]) for c in clicks} - {0}
    concerned = np.isin(regions, sorted(clicked))
    out = np.where(concerned, made, before)
    for c in clicks:
        out[c.y, c.x] = c.positive
    return out

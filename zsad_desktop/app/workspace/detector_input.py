"""What the detector sees: the per-workspace choice of how wide-range pixels become its 8-bit RGB input.

16-bit photographs, CT and other DICOM images keep their full range; the detector
takes 8-bit RGB. A workspace chooses one rule (setting "detector_input"):

- "file-window": the DICOM file's own window (centre/width), else the 0.5-99.5 percentile window;
- "percentile": the lo..hi percentile window of each image's own values;
- "current-window": the reviewer's window in the viewer (as "file-window" while none is set).

8-bit photographs are used as stored, whatever the rule. The rule, and the tiling of an image
too large for one pass, are written as a short key stored with each prediction
(`Prediction.detector_input`): the result can be reproduced, and a changed choice makes a new
prediction next to the old one instead of replacing it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from sqlalchemy import ColumnElement, and_, case, literal, or_, select

from zsad_desktop.detection.tiling import TilingConfig
from zsad_desktop.imaging import LoadedImage, percentile_window, to_rgb8
from zsad_desktop.store import Database, Image, ModelVersion

log = logging.getLogger(__name__)

FILE_WINDOW, PERCENTILE, CURRENT_WINDOW = "file-window", "percentile", "current-window"
MODES = (FILE_WINDOW, PERCENTILE, CURRENT_WINDOW)
INPUT_SETTING = "detector_input"
TILING_SETTING = "tiling"
DISPLAY_WINDOW_SETTING = "display_window"  # the viewer's window of the workspace, (centre, width)
KEY_LENGTH = 64  # Prediction.detector_input's column width
MIN_TILE = 64  # smaller tiles only multiply the passes (each is resized to the input anyway)


class Workspace(Protocol):
    """What these choices need of a workspace (the Workspace class builds on this module, so not it)."""

    database: Database

    def setting(self, key: str, default: Any = None) -> Any: ...

    def set_setting(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class InputChoice:
    """The workspace's rule; `lo`/`hi` are used by "percentile"."""

    mode: str = FILE_WINDOW
    lo: float = 0.5
    hi: float = 99.5

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"detector input must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not 0.0 <= self.lo < self.hi <= 100.0:
            raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, not {self.lo}..{self.hi}")


@dataclass(frozen=True)
class TilingChoice:
    """Tiling of images larger than one tile; 0 means "from the detector's input size"."""

    enabled: bool = True
    tile_size: int = 0
    overlap: int = 0

    def __post_init__(self) -> None:
        if self.tile_size < 0 or self.overlap < 0:
            raise ValueError("tile size and overlap must not be negative")
        if 0 < self.tile_size < MIN_TILE:
            raise ValueError(f"a tile must be at least {MIN_TILE} pixels, not {self.tile_size}")
        if self.tile_size and self.overlap and self.overlap * 2 > self.tile_size:
            raise ValueError(
                f"the overlap ({self.overlap}) must be at most half the tile size ({self.tile_size})"
            )

    def config(self, input_size: int | None, batch_size: int = 4) -> TilingConfig | None:
        """The tiling to use, or None: tiling off, or no size given and no input size to derive one from."""
        if not self.enabled or not (self.tile_size or input_size):
            return None
        default = TilingConfig.for_input_size(input_size) if input_size else None
        tile = self.tile_size or (default.tile_size if default else 0)  # default is set when tile_size is not
        overlap = self.overlap or (default.overlap if default and not self.tile_size else max(16, tile // 8))
        return TilingConfig(tile_size=tile, overlap=min(overlap, tile // 2), batch_size=max(1, batch_size))


@dataclass(frozen=True)
class DetectorInput:
    """How one image becomes the detector's input. `rule` "" uses the pixels as stored (8-bit photos);
    "window" carries a fixed (centre, width)."""

    rule: str = FILE_WINDOW
    window: tuple[float, float] | None = None
    lo: float = 0.5
    hi: float = 99.5

    @property
    def key(self) -> str:
        if self.rule == "":
            return ""
        if self.rule == "window":
            if self.window is None:
                raise ValueError("a fixed-window input needs its (centre, width)")
            return f"window:{_number(self.window[0])}:{_number(self.window[1])}"
        if self.rule == PERCENTILE:
            return f"percentile:{_number(self.lo)}:{_number(self.hi)}"
        return FILE_WINDOW

    def window_for(
        self, pixels: np.ndarray, file_window: tuple[float, float] | None
    ) -> tuple[float, float] | None:
        """The window this rule puts on `pixels` (any array-like, sampled by rows), or None for "as stored"."""
        if self.rule == "window":
            return self.window
        if self.rule == PERCENTILE:
            return percentile_window(pixels, self.lo, self.hi)
        if self.rule == "" or (pixels.dtype == np.uint8 and file_window is None):
            return None  # the loader's own rule: 8-bit data as stored
        return file_window or percentile_window(pixels)

    def to_rgb8(self, image: LoadedImage) -> np.ndarray:
        return to_rgb8(image, self.window_for(image.pixels, image.default_window))


def input_for(
    choice: InputChoice,
    bit_depth: int | None,
    modality: str | None,
    current_window: tuple[float, float] | None = None,
) -> DetectorInput:
    """The rule for one image, from its header facts (the same ones a workspace scan stores)."""
    if modality == "photo" and bit_depth == 8:
        return DetectorInput("")
    if choice.mode == CURRENT_WINDOW and current_window is not None:
        return DetectorInput("window", (float(current_window[0]), float(current_window[1])))
    if choice.mode == PERCENTILE:
        return DetectorInput(PERCENTILE, lo=choice.lo, hi=choice.hi)
    return DetectorInput(FILE_WINDOW)


def prediction_key(detector_input: DetectorInput, tiling: TilingConfig | None) -> str:
    """`Prediction.detector_input`: the input rule, and the tiles when the image was tiled."""
    parts = [detector_input.key] + ([f"tile:{tiling.tile_size}:{tiling.overlap}"] if tiling else [])
    key = "|".join(part for part in parts if part)
    if len(key) > KEY_LENGTH:
        raise ValueError(f"detector input key {key!r} is longer than {KEY_LENGTH} characters")
    return key


def _number(value: float) -> str:
    return f"{float(value):.6g}"


# the workspace's settings -------------------------------------------------------------------------------
def input_choice(workspace: Workspace) -> InputChoice:
    return _stored(workspace, INPUT_SETTING, InputChoice)


def tiling_choice(workspace: Workspace) -> TilingChoice:
    return _stored(workspace, TILING_SETTING, TilingChoice)


def set_input_choice(workspace: Workspace, choice: InputChoice) -> None:
    workspace.set_setting(INPUT_SETTING, asdict(choice))


def set_tiling_choice(workspace: Workspace, choice: TilingChoice) -> None:
    workspace.set_setting(TILING_SETTING, asdict(choice))


Stored = TypeVar("Stored", InputChoice, TilingChoice)


def _stored(workspace: Workspace, key: str, kind: type[Stored]) -> Stored:
    stored = workspace.setting(key, {})
    try:
        return kind(**stored) if isinstance(stored, dict) else kind()
    except (TypeError, ValueError) as error:  # a damaged or newer setting: the default, and say so
        log.warning("workspace setting %s ignored (%s): %r", key, error, stored)
        return kind()


def current_window(workspace: Workspace) -> tuple[float, float] | None:
    """The reviewer's window of this workspace, (centre, width), or None while none is set: the setting
    the viewer keeps (`app.viewer.window_level.remember_window`)."""
    return _as_window(workspace.setting(DISPLAY_WINDOW_SETTING, None))


def _as_window(value: Any) -> tuple[float, float] | None:
    """(centre, width) from a tuple, a list, a {"centre", "width"} dict or an object with those attributes."""
    if isinstance(value, dict):
        value = (value.get("centre", value.get("center")), value.get("width"))
    elif value is not None and hasattr(value, "centre") and hasattr(value, "width"):
        value = (value.centre, value.width)
    try:
        centre, width = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (centre, width) if np.isfinite(centre) and np.isfinite(width) and width > 0 else None


@dataclass(frozen=True)
class WorkspaceInput:
    """The workspace's choices resolved for one detector: what each image's prediction key will be."""

    choice: InputChoice
    window: tuple[float, float] | None
    tiling: TilingConfig | None

    @classmethod
    def of(cls, workspace: Workspace, input_size: int | None, batch_size: int = 4) -> WorkspaceInput:
        return cls(
            input_choice(workspace),
            current_window(workspace),
            tiling_choice(workspace).config(input_size, batch_size),
        )

    def for_image(
        self, bit_depth: int | None, modality: str | None, height: int | None, width: int | None
    ) -> tuple[DetectorInput, TilingConfig | None, str]:
        """(DetectorInput, tiling or None, key) of one image from its header facts."""
        detector_input = input_for(self.choice, bit_depth, modality, self.window)
        tiled = (
            self.tiling
            if self.tiling and height and width and self.tiling.needs_tiling(height, width)
            else None
        )
        return detector_input, tiled, prediction_key(detector_input, tiled)

    def key_column(self) -> ColumnElement[str]:
        """SQL: the key `for_image` gives each image, from its columns, for joining predictions to images
        (`Prediction.detector_input == key_column()`): one prediction per image and model in a gallery."""
        stored = and_(Image.modality == "photo", Image.bit_depth == 8)
        wide = input_for(self.choice, None, None, self.window)
        if self.tiling is None:
            return case((stored, literal("")), else_=literal(wide.key))
        tiled = or_(Image.height > self.tiling.tile_size, Image.width > self.tiling.tile_size)
        return case(
            (and_(stored, tiled), literal(prediction_key(DetectorInput(""), self.tiling))),
            (stored, literal("")),
            (tiled, literal(prediction_key(wide, self.tiling))),
            else_=literal(wide.key),
        )


def detector_input_size(detector: object) -> int | None:
    """The side of the detector's square input, where it has one (CLIP backbones)."""
    backbone = getattr(detector, "backbone", None)
    size = getattr(getattr(backbone, "spec", None), "image_size", None) or getattr(
        detector, "input_size", None
    )
    return int(size) if size else None


_SIZE_IN_ID = re.compile(r"@(\d+)(?::|$)")  # BackboneSpec.identifier: "<model>:<weights>@<size>"


def model_input_size(workspace: Workspace, model_id: str) -> int | None:
    """The input size of the model that tags predictions `model_id`: its registered version's backbone,
    else the size in its identifier; None for detectors without one."""
    with workspace.database.read() as session:
        backbone = session.scalar(
            select(ModelVersion.backbone).where(ModelVersion.model_id == model_id).limit(1)
        )
    if isinstance(backbone, dict) and backbone.get("image_size"):
        return int(backbone["image_size"])
    found = _SIZE_IN_ID.search(model_id)
    return int(found.group(1)) if found else None

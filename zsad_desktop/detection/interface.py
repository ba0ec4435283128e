"""The one detector interface every method plugs in behind.

Images go in as RGB uint8 arrays (H, W, 3) at their own size; for each one a
`Detection` comes out: an image score and a float32 heatmap of the same H x W,
tagged with the identifier of the model version that made it.
Methods register themselves by name (`register_method`), so the application
picks one from a setting, never from an if/elif chain.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Detection:
    score: float
    heatmap: np.ndarray  # float32, (H, W) of the input image
    model_id: str


@dataclass(frozen=True)
class NormalisationStats:
    """Per model (and dataset) scale for heatmaps: never per image.

    A normal image must not look defective because it was stretched to its own
    min-max, so display code maps `low..high` to 0..1 with these numbers.
    """

    low: float = 0.0
    high: float = 1.0

    def normalise(self, heatmap: np.ndarray) -> np.ndarray:
        span = max(self.high - self.low, 1e-12)
        out = np.subtract(
            heatmap, self.low, dtype=np.float32
        )  # one new array, then in place (a 4096 px map: 64 MB)
        out /= span
        return np.clip(out, 0.0, 1.0, out=out)

    def to_dict(self) -> dict[str, float]:
        return {"low": float(self.low), "high": float(self.high)}

    @classmethod
    def from_heatmaps(cls, heatmaps: Sequence[np.ndarray], q: float = 0.995) -> NormalisationStats:
        values = np.concatenate([h.ravel()[:: max(1, h.size // 20000)] for h in heatmaps])
        return cls(low=float(np.quantile(values, 1 - q)), high=float(np.quantile(values, q)))


class DetectorError(RuntimeError):
    """A detector problem the user can act on; its message is shown as is."""


class Detector(abc.ABC):
    """Base class of every anomaly detection method."""

    #: registry name, e.g. "baseline", "aaclip", "crane"
    method: ClassVar[str] = ""

    @property
    @abc.abstractmethod
    def model_id(self) -> str:
        """Identifier of the model version: method, backbone and weights."""

    @abc.abstractmethod
    def predict(self, images: Sequence[np.ndarray]) -> list[Detection]:
        """Score a batch of RGB uint8 images, each at its own size."""

    #: heatmap display scale; a method sets it from data, never per image
    normalisation: NormalisationStats = NormalisationStats()


_REGISTRY: dict[str, Callable[..., Detector]] = {}


def register_method(name: str) -> Callable[[type[Detector]], type[Detector]]:
    def decorate(cls: type[Detector]) -> type[Detector]:
        if name in _REGISTRY:
            raise ValueError(f"detector method {name!r} is registered twice")
        cls.method = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def available_methods() -> list[str]:
    _import_builtin_methods()
    return sorted(_REGISTRY)


def method_class(method: str) -> Callable[..., Detector] | None:
    """The class registered as `method` (its class attributes describe it), or None."""
    _import_builtin_methods()
    return _REGISTRY.get(method)


def create_detector(method: str, **settings: Any) -> Detector:
    """Build the detector registered as `method` with keyword settings."""
    _import_builtin_methods()
    try:
        factory = _REGISTRY[method]
    except KeyError:
        raise DetectorError(
            f"unknown detection method {method!r}; available: {', '.join(sorted(_REGISTRY))}"
        ) from None
    return factory(**settings)


def _import_builtin_methods() -> None:
    # Importing the package registers the built-in methods.
    import zsad_desktop.detection.methods  # noqa: F401

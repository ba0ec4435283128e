"""What the settings can offer for a detector: the registered methods and the precisions, described.
Torch and the methods load when asked, not when the window that offers them opens."""

from __future__ import annotations

from zsad_desktop.detection.interface import available_methods, method_class
from zsad_desktop.detection.run_choices import PRECISIONS

__all__ = ["PRECISIONS", "available_methods", "method_description", "precision_summary"]

SUMMARIES = {
    "baseline": "Zero-shot: prompts describing normal and damaged objects against the image's own patches.",
    "aaclip": "AA-CLIP: the prompts' and the image's features adjusted by trained adapters (a checkpoint).",
    "crane": "Crane: learned prompts against self-correlated patch features (a checkpoint).",
    "musc": (
        "MuSc: each image scored by how few look-alike patches the other images have. Needs a folder of "
        "one product, mostly normal (at least two images). The image on screen is scored against a sample "
        "of the folder (the images you mark NORMAL first); the whole folder is compared in the background."
    ),
}


def method_description(method: str) -> str:
    """What the method does and needs, and whether its backbone pass also feeds the normal memory."""
    cls = method_class(method)
    summary = SUMMARIES.get(method, "")
    if cls is None:
        return summary
    if getattr(cls, "shares_pass", False):
        sharing = "One backbone pass per image also feeds the normal memory."
    else:
        note = getattr(cls, "pass_note", "")
        sharing = f"It {note}." if note else ""
    return " ".join(part for part in (summary, sharing) if part)


def precision_summary(device: str = "auto") -> str:
    """What each precision means on `device` (imports torch)."""
    from zsad_desktop.detection.execution import precision_summary as summary

    return summary(device)

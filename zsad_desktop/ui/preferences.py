"""Settings kept between runs (QSettings): detector, display, reviewer, recent folders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from PySide6.QtCore import QSettings

from zsad_desktop.app.review_session import DetectorSettings

MAX_RECENT = 10


@dataclass
class Preferences:
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    reviewer: str = ""
    colour_map: str = "jet"
    opacity: float = 0.45
    recent: list[str] = field(default_factory=list)

    def add_recent(self, folder: str) -> None:
        self.recent = [folder] + [f for f in self.recent if f != folder][: MAX_RECENT - 1]


def load_preferences(store: QSettings | None = None) -> Preferences:
    store = store or QSettings("zsad-desktop", "zsad-desktop")
    detector = DetectorSettings()
    for f in fields(DetectorSettings):
        if f.name == "extra":
            continue
        value = store.value(f"detector/{f.name}")
        if value is not None:
            setattr(detector, f.name, type(getattr(detector, f.name))(value))
    recent = store.value("recent", [])
    return Preferences(
        detector=detector,
        reviewer=str(store.value("reviewer", "")),
        colour_map=str(store.value("display/colour_map", "jet")),
        opacity=float(store.value("display/opacity", 0.45)),
        recent=[str(r) for r in (recent if isinstance(recent, list) else [recent]) if r],
    )


def save_preferences(prefs: Preferences, store: QSettings | None = None) -> None:
    store = store or QSettings("zsad-desktop", "zsad-desktop")
    for key, value in asdict(prefs.detector).items():
        if key != "extra":
            store.setValue(f"detector/{key}", value)
    store.setValue("reviewer", prefs.reviewer)
    store.setValue("display/colour_map", prefs.colour_map)
    store.setValue("display/opacity", prefs.opacity)
    store.setValue("recent", prefs.recent)
    store.sync()

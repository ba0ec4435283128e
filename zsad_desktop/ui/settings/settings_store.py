"""AppSettings kept between runs with QSettings (the platform's usual place)."""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from typing import Any

from PySide6.QtCore import QSettings

from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.review.settings import AppSettings
from zsad_desktop.app.viewer.viewer_model import DisplaySettings

ORGANISATION = APPLICATION = "zsad-desktop"


def _store(store: QSettings | None) -> QSettings:
    return store if store is not None else QSettings(ORGANISATION, APPLICATION)


def _typed(value: Any, like: Any) -> Any:
    """QSettings hands back strings on some platforms: turn them into the field's type."""
    if isinstance(like, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
    return type(like)(value)


def _read_fields(store: QSettings, group: str, default: Any) -> Any:
    changes = {}
    for f in fields(default):
        value = store.value(f"{group}/{f.name}")
        current = getattr(default, f.name)
        if value is None or isinstance(current, dict):
            continue
        try:
            changes[f.name] = _typed(value, current)
        except (TypeError, ValueError):
            pass  # a damaged entry falls back to the default
    try:
        return replace(default, **changes)
    except ValueError:
        return default


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v]


def load_settings(store: QSettings | None = None) -> AppSettings:
    store = _store(store)
    settings = AppSettings(
        detector=_read_fields(store, "detector", DetectorSettings()),
        display=_read_fields(store, "display", DisplaySettings()),
        recent=_list(store.value("recent")),
    )
    for name in ("prompts_file", "reviewer", "flag_score", "click_model", "sam_checkpoint"):
        value = store.value(name)
        if value is not None:
            setattr(settings, name, _typed(value, getattr(settings, name)))
    store.beginGroup("shortcuts")
    settings.shortcuts = {key: str(store.value(key)) for key in store.childKeys() if store.value(key)}
    store.endGroup()
    return settings


def save_settings(settings: AppSettings, store: QSettings | None = None) -> None:
    store = _store(store)
    for group, values in (("detector", asdict(settings.detector)), ("display", asdict(settings.display))):
        for key, value in values.items():
            if not isinstance(value, dict):
                store.setValue(f"{group}/{key}", value)
    store.setValue("prompts_file", settings.prompts_file)
    store.setValue("reviewer", settings.reviewer)
    store.setValue("flag_score", settings.flag_score)
    store.setValue("click_model", settings.click_model)
    store.setValue("sam_checkpoint", settings.sam_checkpoint)
    store.setValue("recent", settings.recent)
    store.remove("shortcuts")
    for name, keys in settings.shortcuts.items():
        store.setValue(f"shortcuts/{name}", keys)
    store.sync()

"""The menu bar, built from the shortcut table so menus and keys never disagree."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from zsad_desktop.ui.settings import SHORTCUTS, key_sequences

MENUS = ("File", "Review", "Edit", "View", "Model")


def build_menus(
    window: QMainWindow, handlers: dict[str, Callable[[], None]], overrides: dict[str, str]
) -> tuple[dict[str, QAction], dict[str, QMenu]]:
    """One action per shortcut with a handler, in its menu; returns the actions and the menus by name."""
    menus = {name: window.menuBar().addMenu(f"&{name}") for name in MENUS}
    actions: dict[str, QAction] = {}
    for shortcut in SHORTCUTS:
        handler = handlers.get(shortcut.name)
        if handler is None:
            continue
        action = QAction(shortcut.text, window)
        action.triggered.connect(lambda _checked=False, h=handler: h())  # triggered passes `checked`
        menus[shortcut.menu].addAction(action)
        if shortcut.name == "open":
            menus["recent"] = menus["File"].addMenu("Open &recent")
        actions[shortcut.name] = action
    apply_shortcuts(actions, overrides)
    return actions, menus


def apply_shortcuts(actions: dict[str, QAction], overrides: dict[str, str]) -> None:
    for name, action in actions.items():
        action.setShortcuts(key_sequences(name, overrides))

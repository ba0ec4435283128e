"""The application's settings: the dialog, where they are kept, and the keyboard shortcuts."""

from zsad_desktop.ui.settings.settings_dialog import SettingsDialog
from zsad_desktop.ui.settings.settings_store import APPLICATION, ORGANISATION, load_settings, save_settings
from zsad_desktop.ui.settings.shortcuts import SHORTCUTS, key_sequences

__all__ = [
    "APPLICATION",
    "ORGANISATION",
    "SHORTCUTS",
    "SettingsDialog",
    "key_sequences",
    "load_settings",
    "save_settings",
]

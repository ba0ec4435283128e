"""Exporting reviewed masks from the window."""

from zsad_desktop.ui.exports.export_dialog import ExportDialog

__all__ = ["ExportDialog"]

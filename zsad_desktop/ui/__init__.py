"""PySide6 widgets: they show things and call `zsad_desktop.app`; nothing else."""

"""Built-in detection methods; importing a module registers its method."""

import importlib

for _name in ("baseline", "aaclip", "crane", "musc"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:  # a method still being written
        if exc.name != f"{__name__}.{_name}":
            raise

"""The package's imports keep ARCHITECTURE.md's layering: no cycles, nothing imports up a layer.

Imports are read from the source (ast), every one of them: at the top, inside
functions, and under `if TYPE_CHECKING:` (a type-only import still makes two
modules one concern).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "zsad_desktop"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

# Higher layers may import lower ones, never the reverse (`ui` and `cli` are both front ends: the
# `gui` command starts the window). `locations` and the package root say where things are and the version.
LAYERS = {
    "cli": 4,
    "ui": 4,
    "app": 3,
    "demo": 2,
    "detection": 2,
    "store": 2,
    "imaging": 1,
    "evaluation": 1,
    "locations": 0,
    "": 0,
    "__main__": 5,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in ROOT.rglob("*.py") if "migrations" not in path.parts}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports (a `from a import b` names the module a.b where it is one)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import zsad_desktop.app.x.y` where y is an attribute
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE) and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def layer(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def room(module: str, front: str = "app") -> str | None:
    """The app (or ui) sub-package a module belongs to (None outside it or at its root)."""
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == front else None


def ui_room(module: str) -> str | None:
    return room(module, "ui")


def ui_face(module: str) -> str | None:
    """The room a module is the face (`__init__`) of."""
    parts = module.split(".")
    return parts[2] if len(parts) == 3 and parts[1] == "ui" and (ROOT / "ui" / parts[2]).is_dir() else None


def ui_rooms() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "ui").glob("*/__init__.py"))


def test_graph_sees_the_package():
    graph = import_graph()
    assert "zsad_desktop.app.workspace.workspace" in graph
    assert "zsad_desktop.store" in graph["zsad_desktop.app.workspace.workspace"]
    assert len(graph) > 100


def test_no_import_cycle_between_modules():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_import_cycle_between_app_rooms():
    graph = import_graph()
    rooms: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if room(module):
            rooms.setdefault(room(module), set()).update(
                room(t) for t in targets if room(t) and room(t) != room(module)
            )
    found = cycles(rooms)
    assert not found, "app rooms that import each other: " + "; ".join(" <-> ".join(c) for c in found)


def test_ui_rooms_import_app_imaging_and_other_rooms_faces_only():
    """ARCHITECTURE.md: ui may import app (and imaging for display); a room reaches another room only
    through its face (its `__init__`), and never the window's modules above the rooms."""
    graph = import_graph()
    wrong = []
    for module, targets in graph.items():
        own = ui_room(module) or ui_face(module)
        if not own:
            continue
        for target in targets:
            if layer(target) in ("app", "imaging"):
                continue
            if layer(target) != "ui":
                wrong.append(f"{module} imports {target} (ui rooms ask app)")
            elif ui_room(target) == own or ui_face(target) == own:
                continue
            elif ui_face(target) is None:
                wrong.append(f"{module} imports {target} (another room's inside, or the window above)")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_ui_rooms():
    rooms: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        own = ui_room(module)
        if own:
            rooms.setdefault(own, set()).update(
                ui_face(t) for t in targets if ui_face(t) and ui_face(t) != own
            )
    found = cycles(rooms)
    assert not found, "ui rooms that import each other: " + "; ".join(" <-> ".join(c) for c in found)


def test_ui_keeps_at_most_eight_modules_flat():
    flat = sorted(p.name for p in (ROOT / "ui").glob("*.py"))
    assert len(flat) <= 8, f"ui/ has {len(flat)} flat modules: {flat}"
    assert len(ui_rooms()) >= 5


def test_no_import_runs_up_a_layer():
    upward = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if LAYERS[layer(target)] > LAYERS[layer(module)]
    ]
    assert not upward, "\n".join(upward)


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    "package",
    [f"app/{p.parent.name}" for p in sorted((ROOT / "app").glob("*/__init__.py"))]
    + [f"ui/{r}" for r in ui_rooms()],
)
def test_each_room_says_what_it_offers_in_one_line(package):
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text()))
    assert doc and "\n" not in doc.strip(), f"{package}/__init__.py needs a one-line docstring"

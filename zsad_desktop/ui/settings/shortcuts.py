"""Every keyboard action of the window, its menu and its default keys.

The reviewer can change the keys in the settings; a changed action gets the
one key they chose, the others keep their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence


@dataclass(frozen=True)
class Shortcut:
    name: str
    menu: str
    text: str
    keys: tuple[str, ...]


SHORTCUTS = (
    Shortcut("open", "File", "&Open folder…", ("Ctrl+O",)),
    Shortcut("export", "File", "&Export reviewed masks…", ("Ctrl+E",)),
    Shortcut("settings", "File", "&Settings…", ("Ctrl+,",)),
    Shortcut("quit", "File", "&Quit", ("Ctrl+Q",)),
    Shortcut("accept", "Review", "&Accept", ("A",)),
    Shortcut("correct", "Review", "&Correct (save the edited mask)", ("Return", "Enter")),
    Shortcut("normal", "Review", "&Normal", ("N",)),
    Shortcut("reject", "Review", "&Reject", ("R",)),
    Shortcut("skip", "Review", "&Skip", ("S",)),
    Shortcut("next", "Review", "Ne&xt image", ("Right", "J")),
    Shortcut("previous", "Review", "&Previous image", ("Left", "K")),
    Shortcut("undo", "Edit", "&Undo", ("Ctrl+Z",)),
    Shortcut("redo", "Edit", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y")),
    Shortcut("use_proposal", "Edit", "Use the &proposal", ("Ctrl+P",)),
    Shortcut("fill", "Edit", "&Fill holes", ("Ctrl+F",)),
    Shortcut("clear", "Edit", "C&lear mask", ("Ctrl+Backspace",)),
    Shortcut("brush", "Edit", "&Brush", ("B",)),
    Shortcut("eraser", "Edit", "&Eraser", ("E",)),
    Shortcut("polygon", "Edit", "Pol&ygon (Enter closes)", ("P",)),
    Shortcut("region", "Edit", "Remove a re&gion (click)", ("G",)),
    Shortcut("click", "Edit", "Correct with cl&icks (right or Shift+click: not defect)", ("C",)),
    Shortcut("snap", "Edit", "Snap mask to edges (&tighten)", ("T",)),
    Shortcut("clear_clicks", "Edit", "Clear the clic&ks (keeps the mask)", ("Shift+C",)),
    Shortcut("pan", "Edit", "Pa&n", ("Space",)),
    Shortcut("smaller", "Edit", "Smaller brush", ("[",)),
    Shortcut("larger", "Edit", "Larger brush", ("]",)),
    Shortcut("fit", "View", "&Fit", ("F",)),
    Shortcut("actual", "View", "&Actual size (1:1)", ("1",)),
    Shortcut("zoom_in", "View", "Zoom &in", ("Ctrl++", "Ctrl+=")),
    Shortcut("zoom_out", "View", "Zoom &out", ("Ctrl+-",)),
    Shortcut("heatmap", "View", "&Heatmap on/off", ("H",)),
    Shortcut("proposal", "View", "&Proposal on/off", ("O",)),
    Shortcut("navigator", "View", "Na&vigator on/off", ("V",)),
    Shortcut("window_auto", "View", "&Window: auto (percentiles)", ("W",)),
    Shortcut("window_reset", "View", "Window: the image's o&wn", ("Shift+W",)),
    Shortcut("window_next", "View", "Window: next preset (&level)", ("L",)),
    Shortcut("retrain", "Model", "&Retrain on reviews…", ("Ctrl+T",)),
    Shortcut("retrain_progress", "Model", "Retraining &progress", ("Ctrl+Shift+T",)),
    Shortcut("versions", "Model", "Model &versions…", ("Ctrl+M",)),
)
BY_NAME = {s.name: s for s in SHORTCUTS}


def key_sequences(name: str, overrides: dict[str, str]) -> list[QKeySequence]:
    """The keys of action `name`: the reviewer's choice, else the defaults."""
    chosen = overrides.get(name)
    keys = (chosen,) if chosen else BY_NAME[name].keys
    return [QKeySequence(k) for k in keys if k]


def clashes(overrides: dict[str, str]) -> list[str]:
    """Keys given to more than one action, as 'key: action, action' lines."""
    owners: dict[str, list[str]] = {}
    for shortcut in SHORTCUTS:
        for sequence in key_sequences(shortcut.name, overrides):
            owners.setdefault(sequence.toString(), []).append(shortcut.name)
    return [f"{key}: {', '.join(names)}" for key, names in owners.items() if len(names) > 1]

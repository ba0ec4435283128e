"""The reviewer's application settings as plain data (the window keeps them with QSettings), and the
open folder's own detector-input and tiling choices (kept in its workspace)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from zsad_desktop.app.review.detector_settings import DetectorSettings
from zsad_desktop.app.viewer.viewer_model import DisplaySettings
from zsad_desktop.app.workspace.detector_input import (
    InputChoice,
    TilingChoice,
    input_choice,
    set_input_choice,
    set_tiling_choice,
    tiling_choice,
)
from zsad_desktop.app.workspace.workspace import Workspace

MAX_RECENT = 10
#: methods that read a prompt list file (the others learn their prompts)
PROMPT_LIST_METHODS = frozenset({"baseline"})


@dataclass
class AppSettings:
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    prompts_file: str = ""  # empty: the built-in prompt ensemble
    reviewer: str = ""
    display: DisplaySettings = field(default_factory=DisplaySettings)
    flag_score: float = 0.5  # images scoring at least this are "flagged" in the gallery filter
    recent: list[str] = field(default_factory=list)
    shortcuts: dict[str, str] = field(default_factory=dict)  # action -> keys, where changed from the default
    #: a folder on a network share keeps its reviews on the share (one reviewer at a time) instead of here
    keep_on_share: bool = False
    click_model: str = "edges"  # what turns the click tool's clicks into a mask: edges (built in) or sam
    sam_checkpoint: str = ""  # the SAM click model's weights; empty: the released file found in models/sam/

    def add_recent(self, folder: str) -> None:
        self.recent = [folder] + [f for f in self.recent if f != folder][: MAX_RECENT - 1]

    def detector_settings(self) -> DetectorSettings:
        """What the review session builds its detector from, the prompt list included where the method reads one."""
        extra = {k: v for k, v in self.detector.extra.items() if k != "prompts_file"}
        if self.prompts_file and self.detector.method in PROMPT_LIST_METHODS:
            extra["prompts_file"] = self.prompts_file
        return replace(self.detector, extra=extra)


@dataclass(frozen=True)
class WorkspaceInputSettings:
    """What the detector sees in the open folder: kept in the workspace, not with the reviewer's settings,
    so that everyone reviewing the folder gets the same predictions."""

    choice: InputChoice = field(default_factory=InputChoice)
    tiling: TilingChoice = field(default_factory=TilingChoice)

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceInputSettings:
        return cls(input_choice(workspace), tiling_choice(workspace))

    def apply(self, workspace: Workspace) -> bool:
        """Store the choices; True when they changed (predictions get a new key: the folder is predicted
        again, the earlier predictions stay)."""
        if self == WorkspaceInputSettings.of(workspace):
            return False
        set_input_choice(workspace, self.choice)
        set_tiling_choice(workspace, self.tiling)
        return True

"""Command line: the application's use cases without the window.

zsad gui [FOLDER]                 the review window
zsad predict FOLDER --out DIR     heatmaps and a CSV of scores
zsad eval ROOT --layout mvtec     per-category metrics table and JSON
zsad train --method crane ...     train adapters or prompts on a dataset
zsad scan / export / models / retrain WORKSPACE   the review store
zsad db backup|restore|check FOLDER   copies of the review database
zsad demo DIR                     write generated demo images
"""

from __future__ import annotations

import argparse
import logging
import sys

from zsad_desktop import __version__
from zsad_desktop.cli import (
    database_commands,
    demo_commands,
    folder_commands,
    gui_command,
    training_commands,
    workspace_commands,
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="zsad", description="Review anomalies proposed by zero-shot CLIP detectors."
    )
    root.add_argument("--version", action="version", version=f"zsad-desktop {__version__}")
    root.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for commands in (
        gui_command,
        folder_commands,
        training_commands,
        workspace_commands,
        database_commands,
        demo_commands,
    ):
        commands.add_commands(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from zsad_desktop.app.user_errors import user_message

    try:
        return args.run(args)
    except Exception as error:  # every command: one line for what the user can fix, never a traceback
        message = user_message(error)
        if message is None:
            raise  # a bug: its traceback is what a report needs
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

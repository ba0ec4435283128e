"""Start the review window: python main.py [FOLDER]"""

import sys

from zsad_desktop.ui.launch import run_gui

if __name__ == "__main__":
    sys.exit(run_gui(sys.argv[1] if len(sys.argv) > 1 else None))

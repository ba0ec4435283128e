"""Start the review window: python main.py [FOLDER] [--method crane --device cpu ...] (see `zsad gui --help`)."""

import sys

from zsad_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))

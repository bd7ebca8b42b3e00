"""The packaged ``hpe`` program (PyInstaller entry point)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from hpe_core.cli import main

    sys.exit(main())

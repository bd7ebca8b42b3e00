"""The packaged ``hpe-studio`` program (PyInstaller entry point)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # DataLoader workers and process pools re-enter here
    from app.__main__ import main

    sys.exit(main())

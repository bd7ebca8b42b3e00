"""HPE Studio GUI (PySide6). Only composes, shows and delegates to ``hpe_core``."""

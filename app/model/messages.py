"""Every user-facing message of the GUI, declared in one place (tests assert on them)."""

from __future__ import annotations

NO_DEMO = ("The built-in demo is not available in this installation. Open a dataset, a checkpoint "
           "or a video with File ▸ Open (Ctrl+O) or by dropping it on the window.")
DEMO_OPENING = "Opening the built-in demo…"
WELCOME = ("Drop a dataset folder, a checkpoint (.pt, .safetensors), a video or a workspace "
           "file (.hpews) here, or use File ▸ Open.")
NOT_RECOGNISED = "{path}: not a dataset, checkpoint, video or workspace file HPE Studio can open ({why})"
OPEN_FAILED = "Could not open {path}: {why}"
CHECKPOINT_FAILED = "Could not load checkpoint {path}: {why}"
VIDEO_FAILED = "Could not read video {path}: {why}"
WORKSPACE_FAILED = "Could not open workspace {path}: {why}"
WORKSPACE_NEWER = "{path} was made by a newer version of HPE Studio (workspace format {version}); please upgrade"
WORKSPACE_SAVED = "Workspace saved to {path}"
TASK_FAILED = "{name} failed: {why}"
BUG = "Internal error in {name} (a bug; please report it): {why}"
NO_POSE_HEAD = "{path} has no pose head: open a regression checkpoint to see predictions"
PREDICTION_SKIPPED = "{count} samples could not be read and were skipped"
NOTHING_TO_EXPORT = "No video predictions to export yet: open a video and a checkpoint, then press Run"
EXPORTED = "Predictions exported to {path}"
NEED_CHECKPOINT = "Open a checkpoint with a pose head first"
DEVICE = "Device: {device} ({precision})"
DEVICE_FAILED = "Cannot use device {spec}: {why}"
DEVICE_UNKNOWN = "Device: {spec} (not loaded yet)"

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
PREDICTIONS_FAILED = "Could not open predictions {path}: {why}"
BOXES_FAILED = "Could not use the person boxes of {path}: {why}"
NO_DATASET_FOR_BOXES = "Open a dataset first: person boxes crop its samples"
VIDEO_FAILED = "Could not read video {path}: {why}"
WORKSPACE_FAILED = "Could not open workspace {path}: {why}"
SAVE_FAILED = "Could not save {path}: {why}"
WORKSPACE_NEWER = "{path} was made by a newer version of HPE Studio (workspace format {version}); please upgrade"
WORKSPACE_SAVED = "Workspace saved to {path}"
TASK_FAILED = "{name} failed: {why}"
BUG = "Internal error in {name} (a bug; please report it): {why}"
NO_POSE_HEAD = "{path} has no pose head: open a regression checkpoint to see predictions"
PREDICTION_SKIPPED = "{count} samples could not be read and have no prediction: {files}"
UNREADABLE_FILES = "{count} files could not be read and are not listed as samples: {files}"
SEVERAL_FAILED = "{count} of the {total} paths could not be opened:"
NOTHING_TO_EXPORT = "No predictions to export yet: open a video (or a dataset) and a checkpoint with a pose head"
EXPORTED = "Predictions exported to {path}"
WHOLE_FRAMES = ("No person boxes: {model} predicts one person from each whole frame. With several people in view "
                "its pose is of no one in particular. Person boxes… crops each frame to a detector's boxes.")
NEED_CHECKPOINT = "Open a checkpoint with a pose head first"
DEVICE = "Device: {device} ({precision})"
DEVICE_FAILED = "Cannot use device {spec}: {why}"
DEVICE_UNKNOWN = "Device: {spec} (not loaded yet)"


# ---- the analysis views (embeddings, kernels, comparison) and figure export
NEED_DATASET = "Open a dataset to embed its samples"
NEED_CHECKPOINT_TO_ANALYSE = "Open a checkpoint (File ▸ Open) to analyse it"
NEED_TWO = "Open two checkpoints to compare them"
ONLY_2D = "{names}: predicts 2D joints only, so it has no 3D pose to draw here"
NOT_A_MODEL = ("{name} is a predictions file: it holds poses, not a model, so {what} needs a checkpoint "
               "with weights (choose one above)")
NEED_IMAGE = "Select a sample to see the filters' effect on its image"
NO_CONV1 = "{name} has no conv1 filters to show: {why}. Choose a checkpoint with an image encoder above."
NO_LABEL = "This dataset has no {label} labels: {why}. Colouring by cluster instead."
NO_ERRORS = ("Colour by error needs predictions: make a checkpoint with a pose head active "
             "(predictions of the current dataset appear as they are computed)")
ANALYSIS_FAILED = "{what} failed: {why}"
ANALYSIS_BUG = "{what} failed (a bug; please report it): {why}"
RUNNING = "{what}…"
PREVIEW = "PCA preview while {method} runs"
LIVE = "{method} map so far…"
DONE_EMBED = "{samples:,} samples · {method} {dims}D of {layer} · k = {k}"
SILHOUETTE_ESTIMATE = ("silhouette ≈ {value:.4f} ({confidence:.0%} interval {low:.4f} to {high:.4f}, from {sample:,} of "
                       "{total:,} samples) · Exact silhouette computes it over every pair")
SILHOUETTE_EXACT = "exact silhouette of the clusters: {value:.4f} (the estimate said {low:.4f} to {high:.4f})"
NO_SELECTION_3D = "Rectangle and lasso selection work on 2D projections"
SELECTED = "{count:,} samples selected: the browser lists them"
NO_FIGURES = "Nothing to export yet: run the analysis first"
FIGURES_EXPORTED = "Exported {path}"
REPORT_WRITTEN = "Report written to {path}"
REPORT_DONE = "Report of {models} on {samples:,} samples written to {path} (opened in your browser). {verdict}"
REPORT_FAILED = "Report failed: {why}"
REPORT_CANCELLED = "Report cancelled; nothing was written to {path}"
NEED_REPORT_INPUT = "Open a dataset and a checkpoint or predictions file to report on"
COMPARING = "Comparing A and B…"
COMPARE_HINT = "Choose A and B above and press Compare: their error measures, A − B and the verdict show here."
COMPARE_NO_POSES = "No pose metrics: A or B has no pose head (the full view compares their features)."
NO_POSE_HEADS = "Pose metrics and predictions need two checkpoints with pose heads"
NOT_ON_DATASET = "The last result was computed on another dataset; run again"

# ---- training jobs and the training panel
NO_FINAL_EVENT = "the process ended without a final event (killed, or it crashed)"
KILLED_AFTER = "did not stop {timeout:.0f} s after SIGINT and was killed"
JOB_DONE = "Training job '{name}' finished; {path} joins the workspace"
JOB_FAILED = "Training job '{name}' failed: {why}"
ALARM_MESSAGE = "Training job '{name}': {message}"  # a health alarm (hpe_core.analysis.health_alarms)
ALARM_ROW = "{count} health alarm(s); last: {last}"
CONFIG_FAILED = "Could not read the config {path}: {why}"
CANCEL_TRAINING = ("Also cancel {count} training job(s)? A running job stops at its next step and saves a "
                   "resumable checkpoint (Resume in the Training panel continues it).")
BAD_RUN_NAME = "Name '{name}': a run's name is its folder's name; leave out / \\ : * ? \" < > |"
STOPPING_JOBS = "Stopping {count} training job(s): each saves a resumable checkpoint…"
RUNNING_JOBS = ("{count} training job(s) still running. Keep them running in the background (HPE Studio "
                "follows them again at its next start) or stop them (each saves a resumable checkpoint)?")

def file_list(items, limit: int = 12) -> str:
    """``(name, why)`` pairs as "a.jpg (truncated), b.png (empty) and 3 more"."""
    items = list(items)
    text = ", ".join(f"{name} ({why})" if why else str(name) for name, why in items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def is_user_error(exc: BaseException) -> bool:
    """Bad input (a file, a value, a missing device) rather than a bug: shown without a traceback."""
    return isinstance(exc, (ValueError, OSError))


def why(exc: BaseException, path=None) -> str:
    """The reason in ``exc``, without a leading ``"<path>: "`` the message already names; a
    bug's reason names its exception type."""
    text = str(exc) or type(exc).__name__
    if path is not None and text.startswith(f"{path}: "):
        text = text[len(f"{path}: "):]
    return text if is_user_error(exc) else f"{type(exc).__name__}: {text}"


def with_traceback(exc: BaseException, text: str) -> str:
    """``text``, followed by the worker's traceback when ``exc`` is a bug."""
    return text if is_user_error(exc) else text + "\n\n" + getattr(exc, "__traceback_text__", "")

# --- UniHPE shared space in the embedding explorer (app/views/shared_space.py, retrieval_view.py)
SHARED_SPACE = ("{samples:,} samples · {method} of the shared space: image, 2D and 3D embeddings · "
                "top-1 image→3D {top1:.0%}")
SHARED_SPACE_2D = "The shared space is drawn in 2D (the 3D choice applies to other checkpoints)"
SHARED_LINKS_OFF = "{samples:,} samples: the lines joining each sample's embeddings are off (turn them on above)"
RETRIEVAL_PICK = "Click an image point (●) to list its nearest 2D and 3D poses across the dataset"
RETRIEVAL_TITLE = "Nearest poses to the image of {name} (cosine in the shared space, {samples:,} samples)"
RETRIEVAL_NOT_IN_SPACE = "Sample {name} is not among the samples of the shared space"
RETRIEVAL_OWN = "  ← its own"
RETRIEVAL_SAME_POSE = "  ← same pose, another camera"

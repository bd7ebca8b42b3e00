"""User-facing messages of the analysis views (embeddings, kernels, comparison, export), in one place."""

from __future__ import annotations

NEED_DATASET = "Open a dataset to embed its samples"
NEED_CHECKPOINT = "Open a checkpoint (File ▸ Open) to analyse it"
NEED_TWO = "Open two checkpoints to compare them"
NEED_IMAGE = "Select a sample to see the filters' effect on its image"
NO_LABEL = "This dataset has no {label} labels: {why}. Colouring by cluster instead."
NO_ERRORS = ("Colour by error needs predictions: make a checkpoint with a pose head active "
             "(predictions of the current dataset appear as they are computed)")
FAILED = "{what} failed: {why}"
BUG = "{what} failed (a bug; please report it): {why}"
RUNNING = "{what}…"
PREVIEW = "PCA preview while {method} runs"
LIVE = "{method} map so far…"
DONE_EMBED = "{samples:,} samples · {method} {dims}D of {layer} · k = {k}"
NO_SELECTION_3D = "Rectangle and lasso selection work on 2D projections"
SELECTED = "{count:,} samples selected: the browser lists them"
NOTHING_TO_EXPORT = "Nothing to export yet: run the analysis first"
EXPORTED = "Exported {path}"
REPORT_WRITTEN = "Report written to {path}"
NO_POSE_HEADS = "Pose metrics and predictions need two checkpoints with pose heads"
NOT_ON_DATASET = "The last result was computed on another dataset; run again"

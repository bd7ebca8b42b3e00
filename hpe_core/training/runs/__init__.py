"""Runs beyond one ``hpe train``: the run queue shared by the GUI and ``hpe queue``
(:mod:`.queue`, :mod:`.runner`), Optuna sweeps whose trials are training runs (:mod:`.sweep`),
and the optional trackers (TensorBoard, MLflow) written from the same events (:mod:`.trackers`).
Our JSON-lines events (:mod:`hpe_core.training.events`) stay the source of truth."""

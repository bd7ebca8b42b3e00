"""The GUI's state, Qt-free: small evented parts (psygnal) the workspace composes and the views
bind to: :class:`~app.model.catalog.Catalog` (open datasets and checkpoints),
:class:`~app.model.browsing.Browse` (a frozen browse state and its rows),
:class:`~app.model.view_options.ViewOptions`, :class:`~app.model.device.DeviceChoice`,
:class:`~app.model.predictions.PredictionCache` (per dataset and checkpoint) and
:class:`~app.model.sample_feed.SampleFeed` (the selected sample). Nothing here imports PySide6,
pyqtgraph or vispy (an import-linter contract in pyproject.toml says so)."""

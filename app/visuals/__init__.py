"""Model-free drawing: vispy visuals, pyqtgraph items and painted canvases that take arrays (or one
sample's plain data) and know no workspace; and the thin layer adapters that feed the vispy visuals."""

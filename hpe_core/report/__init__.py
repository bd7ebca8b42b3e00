"""``hpe report``: from checkpoints and prediction files to the tables and figures of a pose paper.

- :mod:`.scoring`: every model column scored on the same samples (through
  :func:`hpe_core.inference.evaluate.score_prediction`, the scorer of ``hpe evaluate``);
- :mod:`.tables`: Markdown, LaTeX (booktabs) and CSV tables;
- :mod:`.figures`: paper figures (matplotlib) as PDF, SVG and PNG;
- :mod:`.document`: ``report.html`` and ``report.pdf``;
- :mod:`.provenance`: ``provenance.json`` and ``--rerun``;
- :mod:`.run`: :func:`build_report`, the whole thing.
"""

"""Regenerate the README's Compare screenshots on the built-in demo (SimCLR against SimSiam, both with
their 2-layer heads, 1000 test samples), at two window sizes:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 docs/make_compare_screenshots.py [OUT_FOLDER]

docs/compare-summary.png and docs/compare-summary-1280.png: Compare docked beside the image (its
summary: the error measures, A - B, the verdict) at 1600 x 1000 and 1280 x 720; docs/compare.png
(the embeddings tab) and docs/compare-1280.png (the table beside both predictions of the selected
sample): Compare maximised, its full view. Each is saved as an optimised palette PNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

from make_screenshots import open_window, save_small, spin, wait

PAIR = ("simclr_regress2.pt", "simsiam_regress2.pt")
SHOTS = ((1600, 1000, "compare-summary.png", "compare.png", 1),  # width, height, docked, full, full's tab
         (1280, 720, "compare-summary-1280.png", "compare-1280.png", 0))


def run_compare(app, window):
    """The demo open, Compare shown docked with the demo's pair compared; the Compare view."""
    from app.export.menu import show_analysis

    window.open_demo()
    ws = window.workspace
    wait(app, lambda: set(PAIR) <= {c.path.name for c in ws.catalog.checkpoints.values()}
         and ws.feed.sample is not None and ws.feed.sample.pred_3d is not None, "the demo's checkpoints")
    compare = show_analysis(window, "compare")
    keys = {c.path.name: k for k, c in ws.catalog.checkpoints.items()}
    compare.checkpoint_a.select_key(keys[PAIR[0]])
    compare.checkpoint_b.select_key(keys[PAIR[1]])
    compare.samples.setValue(1000)
    compare.run()
    wait(app, lambda: compare.bundle is not None and compare.structures, "Compare and its silhouettes", 1800)
    ws.select(int(ws.browse.rows[min(5, len(ws.browse.rows) - 1)]))
    wait(app, lambda: compare.pose_index == ws.feed.selection and not compare.pose_runner.running(),
         "both predictions of the selected sample")
    return compare


def main(out: Path) -> int:
    app, window = open_window()
    compare = run_compare(app, window)
    out.mkdir(parents=True, exist_ok=True)
    dock = window.analysis_docks["compare"]
    for width, height, docked, full, tab in SHOTS:
        window.resize(width, height)
        wait(app, lambda: compare.summary.isVisible(), "the docked summary")
        spin(app, 1.5)
        save_small(window.grab().toImage(), out / docked)
        compare.summary.full.click()  # the summary's button: the full view, maximised
        wait(app, lambda: window.dock_layout.maximised is dock and compare.full, "the full view")
        compare.tabs.setCurrentIndex(tab)
        spin(app, 1.5)
        save_small(window.grab().toImage(), out / full)
        window.dock_layout.restore()
        spin(app, 0.5)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))

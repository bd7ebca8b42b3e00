"""Report figures (matplotlib, Agg, the look of :mod:`.style`), each saved as PDF, SVG and PNG at
the width of one column (3.5 in) and of two columns (7.16 in) of a paper. Plots (:mod:`.plots`):
per-joint error, PCK curve 0-150 mm, per-sample error histogram, error by camera; galleries
(:mod:`.gallery`, two columns only): the 24 worst samples and the best / median / worst samples of
each model, image with the ground-truth and predicted skeleton; with ``analysis``, the
representation figures of :mod:`.analysis_figures`.
"""

from __future__ import annotations

from pathlib import Path

from hpe_core.progress import check_cancelled


def make_figures(columns, dataset, rows, folder: Path, progress, analysis: bool = False, seed: int = 0,
                 device: str = "cpu") -> list[dict]:
    """Draw and save every figure; returns ``[{"name", "title", "files", "figure"}]`` (the
    two-column figure stays open for report.pdf; :func:`close` it after)."""
    from hpe_core.report.gallery import galleries
    from hpe_core.report.plots import standard_plots
    from hpe_core.report.style import use_style

    use_style()
    columns = [c for c in columns if c.overall.get("dims") == 3]
    if not columns:
        return []
    plots = standard_plots(columns, dataset) + galleries(columns, dataset)
    if analysis:
        from hpe_core.report.analysis_figures import analysis_plots

        plots += analysis_plots(columns, dataset, rows, seed, device, progress)
    out = []
    for k, (name, title, draw, aspect) in enumerate(plots):
        check_cancelled(progress)
        progress.set_status(f"figure {name}")
        files, keep = _draw_widths(draw, aspect, folder, name)
        out.append({"name": name, "title": title, "files": files, "figure": keep})
        progress.set_progress((k + 1) / len(plots))
    return out


def _draw_widths(draw, aspect: float, folder: Path, name: str):
    """Draw and save the figure at each column width (a tall figure at two columns only); returns
    the files and the open two-column figure."""
    import matplotlib.pyplot as plt

    from hpe_core.report.style import WIDTHS, save_figure

    files, keep = [], None
    for size in ("2col",) if aspect > 1.0 else tuple(WIDTHS):
        fig = plt.figure(figsize=(WIDTHS[size], WIDTHS[size] * aspect), layout="constrained")
        draw(fig, WIDTHS[size])
        files += save_figure(fig, folder / size, name)
        if size == "2col":
            keep = fig
        else:
            plt.close(fig)
    return files, keep


def close(figures: list[dict]) -> None:
    import matplotlib.pyplot as plt

    for f in figures:
        if f.get("figure") is not None:
            plt.close(f["figure"])
            f["figure"] = None

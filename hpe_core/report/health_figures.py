"""The live health curves of training runs side by side (the README's collapse figure).

``save_health_figure({label: events}, folder)`` draws, for each run (one colour each) and each
layer (solid: encoder, dashed: the others), RankMe, the spread, the uniformity and kNN accuracy
(its chance dotted) over epochs, the alarm thresholds of :class:`~hpe_core.analysis.health_alarms.HealthOptions`
as grey dotted lines and a red cross at each value an alarm fired on (:func:`~hpe_core.analysis.health_alarms.alarms_at`),
in the report's look (:mod:`.style`), saved as PDF, SVG and PNG at one and two column widths.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from hpe_core.analysis.health_alarms import HealthOptions, alarms_at, health_series

PANELS = (("rankme", "RankMe", None), ("spread", "spread (1 isotropic, 0 collapsed)", "spread_min"),
          ("uniform", "uniformity (0: one point)", "uniform_max"), ("knn", "kNN accuracy on the action", None))
#: drawn dotted in the panel of another measure: its chance beside kNN
DOTTED = {"knn": "knn_chance"}


def history_of(events: list[dict]) -> list[dict]:
    """A run's history (one dict of validation metrics per epoch, with ``epoch``) from its events."""
    return [{"epoch": e["epoch"], **e["metrics"]} for e in events if e["type"] == "metric" and e["split"] == "val"]


def draw_health_runs(runs: dict[str, list[dict]], options: HealthOptions, fig, width: float) -> None:
    """``runs``: {label: history}; four panels, see the module docstring."""
    from hpe_core.report.style import OKABE_ITO

    axes = fig.subplots(1, len(PANELS))
    for colour, (label, history) in zip(OKABE_ITO, runs.items()):
        series = health_series(history)
        fired = {(a.layer, a.measure, a.epoch) for k in range(len(history)) for a in alarms_at(history, options, k)}
        epochs = [int(h["epoch"]) + 1 for h in history]
        for layer, measures in series.items():
            style = "-" if layer == "encoder" else "--"
            for ax, (measure, _, _) in zip(axes, PANELS):
                values = measures.get(measure)
                if values is None:
                    continue
                ax.plot(epochs, values, style, color=colour, marker="o", markersize=3, label=f"{label}, {layer}")
                if measure in DOTTED and layer == "encoder":
                    ax.plot(epochs, measures[DOTTED[measure]], ":", color=colour, linewidth=1)
                hits = [(e, v) for e, v in zip(epochs, values) if (layer, measure, e) in fired]
                if hits:
                    ax.plot(*zip(*hits), "x", color="#D00000", markersize=7, markeredgewidth=1.5)
    _guides(axes, runs, options)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=max(len(labels), 1), frameon=False, fontsize=6)


def _guides(axes, runs: dict[str, list[dict]], options: HealthOptions) -> None:
    """Titles, grids and the alarm thresholds: spread and uniformity as set, RankMe's collapse floor
    (``rank_min`` x the most RankMe can be) where the runs logged that most."""
    rank_max = [v for h in runs.values() for entry in h for k, v in entry.items() if k.endswith(".rank_max")]
    for ax, (measure, title, threshold) in zip(axes, PANELS):
        if threshold is not None:
            ax.axhline(getattr(options, threshold), color="0.6", linestyle=":", linewidth=1)
        if measure == "rankme" and rank_max:
            ax.axhline(options.rank_min * min(rank_max), color="0.6", linestyle=":", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)


def save_health_figure(runs: dict[str, list[dict]], folder: Path, name: str = "health_curves",
                       options: HealthOptions | None = None) -> list[Path]:
    """Draw ``runs`` ({label: events}) and save ``folder/{1col,2col}/name.{pdf,svg,png}``."""
    import matplotlib.pyplot as plt

    from hpe_core.report.figures import _draw_widths
    from hpe_core.report.style import use_style

    use_style()
    histories = {label: history_of(events) for label, events in runs.items()}
    draw = partial(draw_health_runs, histories, options or HealthOptions())
    files, keep = _draw_widths(draw, 0.34, Path(folder), name)
    plt.close(keep)
    return files

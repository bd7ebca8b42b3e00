"""The look of every report figure: Okabe-Ito colours (colour-blind safe), the ground-truth and
prediction colours, the widths of one and of two columns of a paper, TrueType fonts embedded
(``pdf.fonttype 42``), and each figure saved as PDF, SVG and PNG without dates (so a rerun
writes the same bytes)."""

from __future__ import annotations

from pathlib import Path

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
GT_COLOUR = "#009E73"
PRED_COLOUR = "#D55E00"
WIDTHS = {"1col": 3.5, "2col": 7.16}  # inches
FORMATS = ("pdf", "svg", "png")


def use_style() -> None:
    """matplotlib on Agg with the report's fonts, sizes and colour cycle."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    matplotlib.rcParams.update({"pdf.fonttype": 42, "ps.fonttype": 42, "font.size": 8, "axes.titlesize": 8,
                                "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
                                "ytick.labelsize": 7, "svg.hashsalt": "hpe-report", "figure.dpi": 100,
                                "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO)})


def save_figure(fig, folder: Path, name: str) -> list[Path]:
    """``folder/name.{pdf,svg,png}``, each written atomically; returns their paths."""
    from hpe_core.atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in FORMATS:
        path = folder / f"{name}.{ext}"
        meta = {"pdf": {"CreationDate": None, "Producer": None}, "svg": {"Date": None}, "png": {"Software": None}}
        with atomic_path(path, suffix=f".{ext}") as tmp:
            fig.savefig(tmp, format=ext, dpi=300, bbox_inches="tight", metadata=meta[ext])
        out.append(path)
    return out

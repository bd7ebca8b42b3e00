"""The look of every report figure: Okabe-Ito colours (colour-blind safe), the ground-truth and
prediction colours, the widths of one and of two columns of a paper, TrueType fonts embedded
(``pdf.fonttype 42``), and each figure saved as PDF, SVG and PNG without dates (so a rerun
writes the same bytes)."""

from __future__ import annotations

import functools
from pathlib import Path

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
GT_COLOUR = "#009E73"
PRED_COLOUR = "#D55E00"
WIDTHS = {"1col": 3.5, "2col": 7.16}  # inches
FORMATS = ("pdf", "svg", "png")


#: fonts with a wide coverage (Chinese, Japanese kana, Korean Hangul, ...), tried in this order after
#: DejaVu Sans for a glyph it lacks; .ci/run installs Debian's fonts-wqy-microhei (1.6 MB)
FALLBACK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Micro Hei",
                  "WenQuanYi Zen Hei", "Droid Sans Fallback", "AR PL UMing CN", "Unifont", "PingFang SC",
                  "Hiragino Sans", "Microsoft YaHei", "Yu Gothic", "Malgun Gothic", "Arial Unicode MS")
_FALLBACK_FILES = ("droidsansfallback", "notosanscjk", "sourcehansans", "wqy", "uming", "unifont")


@functools.lru_cache(maxsize=1)
def fallback_fonts() -> tuple[str, ...]:
    """The :data:`FALLBACK_FONTS` this machine has. A font installed after matplotlib made its
    font cache is added from the system's font folders (only files named like one of them)."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    if not known.intersection(FALLBACK_FONTS):
        for path in font_manager.findSystemFonts():
            if any(k in Path(path).name.lower().replace("-", "") for k in _FALLBACK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        known = {f.name for f in font_manager.fontManager.ttflist}
    return tuple(name for name in FALLBACK_FONTS if name in known)


def use_style() -> None:
    """matplotlib on Agg with the report's fonts (DejaVu Sans, then :func:`fallback_fonts` for
    the glyphs it lacks: CJK names draw as text, not boxes), sizes and colour cycle."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    matplotlib.rcParams.update({"font.family": ["DejaVu Sans", *fallback_fonts()],
                                "pdf.fonttype": 42, "ps.fonttype": 42, "font.size": 8, "axes.titlesize": 8,
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

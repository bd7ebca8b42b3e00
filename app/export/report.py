"""“Export report”: one self-contained HTML file (and a PDF) with the figures, the metric tables
and each figure's provenance (checkpoint hashes, dataset, settings, command line, version).

Sections come from the views (``view.report_section()``). The HTML embeds its figures as PNG
data URIs, so it is one file to send or archive; the PDF is the same document typeset by Typst
(:mod:`hpe_core.report.typeset`, as ``hpe report``'s): A4, tables as tables (a table's ``bold``
cells bold, its ``muted`` ones grey), each figure on a page of its own with its caption under it,
fonts embedded. Both are written atomically.
"""

from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.export.figures import Figure, figure_image, png_bytes
from hpe_core.atomic import atomic_write
from hpe_core.errors import InputError

STYLE = """
body { font-family: sans-serif; color: #1d1f24; max-width: 1100px; margin: 2em auto; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-weight: bold; margin: 0.3em 0; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: left; }
th { background: #eef0f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.provenance td { font-family: monospace; font-size: 0.85em; word-break: break-all; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
td.na { color: #888; }
"""


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list]
    bold: set[tuple[int, int]] = field(default_factory=set)   # (row, column) of the best values
    muted: set[tuple[int, int]] = field(default_factory=set)  # (row, column) of values not meaningful
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportSection:
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def measure_emphasis(rows: list[list], measures: dict[str, str]) -> tuple[set, set]:
    """``(bold, muted)`` cells of a two-model metrics table (rows ``[metric (mm), A, B, A − B]``,
    Compare's): the better of A and B in the row of the error measure both are read by
    (``measures``: ``{"a": "PA-MPJPE", "b": ...}``, :mod:`hpe_core.error_measure`), and the raw
    MPJPE of a model read by a rotation-aligned measure (not meaningful), with its A − B."""
    bold, muted = set(), set()
    label = {row[0]: r for r, row in enumerate(rows)}
    shared = measures.get("a") if measures.get("a") == measures.get("b") else None
    r = label.get(f"{shared} (mm)")
    if r is not None and all(isinstance(v, (int, float)) for v in rows[r][1:3]):
        bold.add((r, 1 if rows[r][1] <= rows[r][2] else 2))
    r = label.get("MPJPE (mm)")
    for col, key in ((1, "a"), (2, "b")):
        if r is not None and measures.get(key) not in (None, "MPJPE"):
            muted |= {(r, col), (r, 3)}
    return bold, muted


def flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    """``{"settings": {"layer": "encoder"}}`` -> ``[("settings.layer", "encoder")]``."""
    out = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            out.append((name, "; ".join(str(v) for v in value)))
        elif value not in (None, ""):
            out.append((name, str(value)))
    return out


def cell_text(value) -> str:
    """How a table shows a value: floats to 4 decimals, integers with thousands separators."""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "—" if value is None else str(value)


def _cell(value, bold: bool = False, muted: bool = False) -> str:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    text = html.escape(cell_text(value))
    cls = " ".join(c for c, on in (("num", number), ("na", muted)) if on)
    return f"<td{f' class={chr(34)}{cls}{chr(34)}' if cls else ''}>{f'<b>{text}</b>' if bold else text}</td>"


def table_html(table: Table, css_class: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(_cell(v, (r, c) in table.bold, (r, c) in table.muted) for c, v in enumerate(row))
                   + "</tr>" for r, row in enumerate(table.rows))
    cls = f' class="{css_class}"' if css_class else ""
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in table.notes)
    return (f'<table{cls} border="1" cellspacing="0" cellpadding="3"><caption>{html.escape(table.title)}</caption>'
            f"<tr>{head}</tr>{body}</table>{notes}")


def provenance_table(provenance: dict, title: str = "Provenance") -> str:
    return table_html(Table(title, ["item", "value"], [list(r) for r in flatten(provenance)]), "provenance")


def build_html(sections: list[ReportSection], images: dict[int, str]) -> str:
    """The report; ``images`` maps ``id(figure)`` to an ``<img src>`` (a data URI)."""
    parts = [f"<html><head><meta charset='utf-8'><title>HPE Studio report</title><style>{STYLE}</style></head><body>",
             "<h1>HPE Studio report</h1>", f"<p>{html.escape(made_with())}</p>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts.extend(f"<p>{html.escape(n)}</p>" for n in section.notes)
        for fig in section.figures:
            parts.append(f'<figure><figcaption>{html.escape(fig.title)}</figcaption>'
                         f'<img src="{images[id(fig)]}" alt="{html.escape(fig.title)}">')
            if fig.provenance and fig.provenance != section.provenance:  # else said once below
                parts.append(provenance_table(fig.provenance, f"Provenance of “{fig.title}”"))
            parts.append("</figure>")
        parts.extend(table_html(t) for t in section.tables)
        if section.provenance:
            parts.append(provenance_table(section.provenance, f"Provenance of “{section.title}”"))
    parts.append("</body></html>")
    return "\n".join(parts)


def made_with() -> str:
    from hpe_core import __version__

    return f"Made with HPE Studio {__version__} on {time.strftime('%Y-%m-%d %H:%M:%S')}."


def write_report(path: str | Path, sections: list[ReportSection], pdf: bool = True,
                 width: int = 1600) -> tuple[Path, Path | None]:
    """Write ``path`` (.html) and, with ``pdf``, the same name with .pdf; returns both paths."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{path}: a report is written as .html (a .pdf is written next to it)")
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    if not sections:
        raise InputError("report: no view has results to report yet")
    pngs = {id(f): png_bytes(figure_image(f, width)) for s in sections for f in s.figures}
    uris = {k: "data:image/png;base64," + base64.b64encode(png).decode() for k, png in pngs.items()}
    atomic_write(path, build_html(sections, uris))
    pdf_path = write_pdf(path.with_suffix(".pdf"), sections, pngs) if pdf else None
    return path, pdf_path


def write_pdf(path: Path, sections: list[ReportSection], pngs: dict[int, bytes]) -> Path:
    """The report as a PDF typeset by Typst, each figure (its PNG) on a page of its own."""
    import tempfile

    from hpe_core.report.typeset import typeset_pdf

    with tempfile.TemporaryDirectory(prefix="hpe-report-") as tmp:
        names = {}
        for k, (key, png) in enumerate(pngs.items()):
            names[key] = f"figure{k}.png"
            (Path(tmp) / names[key]).write_bytes(png)
        doc = {"title": "HPE Studio report", "lines": [made_with()],
               "sections": [_pdf_section(s, names) for s in sections]}
        return typeset_pdf(path, doc, Path(tmp))


def _pdf_section(section: ReportSection, names: dict[int, str]) -> dict:
    from hpe_core.report.typeset import key_values, table_data

    figures = [{"path": names[id(f)], "caption": f.title,
                "provenance": key_values(flatten(f.provenance)) if f.provenance and f.provenance != section.provenance
                else []} for f in section.figures]
    tables = [table_data(t.title, [str(h) for h in t.headers], _pdf_rows(t), t.notes) for t in section.tables]
    return {"title": section.title, "lines": list(section.notes), "tables": tables, "figures": figures,
            "provenance": key_values(flatten(section.provenance))}


def _pdf_rows(table: Table) -> list[list[dict]]:
    return [[{"text": cell_text(v), "bold": (r, c) in table.bold, "muted": (r, c) in table.muted}
             for c, v in enumerate(row)] for r, row in enumerate(table.rows)]

"""“Export report”: one self-contained HTML file (and a PDF) with the figures, the metric tables
and each figure's provenance (checkpoint hashes, dataset, settings, command line, version).

Sections come from the views (``view.report_section()``). The HTML embeds its figures as PNG
data URIs, so it is one file to send or archive; the PDF is the same document printed by
``QTextDocument`` (A4, figures as images, tables as tables). Both are written atomically.
"""

from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QMarginsF, QUrl
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from app.export.figures import Figure, figure_image, png_bytes
from hpe_core.atomic import atomic_path, atomic_write
from hpe_core.errors import OutputError
from hpe_core.errors import InputError

PDF_IMAGE_WIDTH = 640
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
"""


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list]


@dataclass
class ReportSection:
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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


def _cell(value) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:.4f}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{html.escape('—' if value is None else str(value))}</td>"


def table_html(table: Table, css_class: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    cls = f' class="{css_class}"' if css_class else ""
    return (f'<table{cls} border="1" cellspacing="0" cellpadding="3"><caption>{html.escape(table.title)}</caption>'
            f"<tr>{head}</tr>{body}</table>")


def provenance_table(provenance: dict, title: str = "Provenance") -> str:
    return table_html(Table(title, ["item", "value"], [list(r) for r in flatten(provenance)]), "provenance")


def build_html(sections: list[ReportSection], images: dict[int, str], image_width: int | None = None) -> str:
    """The report; ``images`` maps ``id(figure)`` to an ``<img src>`` (data URI or resource name)."""
    from hpe_core import __version__

    width = f' width="{image_width}"' if image_width else ""
    parts = [f"<html><head><meta charset='utf-8'><title>HPE Studio report</title><style>{STYLE}</style></head><body>",
             "<h1>HPE Studio report</h1>",
             f"<p>Made with HPE Studio {html.escape(__version__)} on {time.strftime('%Y-%m-%d %H:%M:%S')}.</p>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts.extend(f"<p>{html.escape(n)}</p>" for n in section.notes)
        for fig in section.figures:
            parts.append(f'<figure><figcaption>{html.escape(fig.title)}</figcaption>'
                         f'<img src="{images[id(fig)]}" alt="{html.escape(fig.title)}"{width}>')
            if fig.provenance and fig.provenance != section.provenance:  # else said once below
                parts.append(provenance_table(fig.provenance, f"Provenance of “{fig.title}”"))
            parts.append("</figure>")
        parts.extend(table_html(t) for t in section.tables)
        if section.provenance:
            parts.append(provenance_table(section.provenance, f"Provenance of “{section.title}”"))
    parts.append("</body></html>")
    return "\n".join(parts)


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
    rendered = {id(f): figure_image(f, width) for s in sections for f in s.figures}
    uris = {k: "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode() for k, img in rendered.items()}
    atomic_write(path, build_html(sections, uris))
    pdf_path = None
    if pdf:
        pdf_path = path.with_suffix(".pdf")
        names = {k: f"figure{i}.png" for i, k in enumerate(rendered)}
        doc = QTextDocument()
        for key, image in rendered.items():
            doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(names[key]), image)
        doc.setHtml(build_html(sections, names, PDF_IMAGE_WIDTH))
        with atomic_path(pdf_path, suffix=".pdf") as tmp:
            writer = QPdfWriter(str(tmp))
            writer.setTitle("HPE Studio report")
            writer.setCreator("HPE Studio")
            writer.setResolution(96)
            writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                             QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
            doc.print_(writer)
            del writer
            check_pdf_complete(tmp, pdf_path)
    return path, pdf_path


def check_pdf_complete(tmp: Path, final: Path) -> None:
    """Qt writes a PDF without reporting a failed write: an :class:`OutputError` unless ``tmp``
    ends as every PDF does (``%%EOF``), so a full disk never leaves half a PDF under ``final``."""
    try:
        with open(tmp, "rb") as fh:
            fh.seek(max(0, tmp.stat().st_size - 1024))
            complete = b"%%EOF" in fh.read()
    except OSError:
        complete = False
    if not complete:
        raise OutputError(f"{final}: cannot write (the PDF came out incomplete; is the disk full?)")

"""PDF documents typeset by Typst (its Python binding, which bundles the compiler): ``report.pdf`` of
``hpe report`` and the GUI's Views Report PDF.

A document is plain data (:class:`dict`, see :func:`typeset_pdf`), handed to one Typst template as
JSON, so no text is ever read as markup. Tables are tables (the header repeated on each page they
run onto, the best value bold, a not-meaningful value grey, footnotes under them); each figure is
an image with its numbered caption below it on a page of its own, scaled to fit the page, so a
figure is never split from its caption; fonts (DejaVu Sans, the figures' font, and a CJK fallback
where the system has one) are embedded as subsets. The same data gives the same bytes: no date.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from hpe_core.atomic import atomic_write

TEMPLATE = r"""
#let d = json(bytes(sys.inputs.doc))
#set document(title: d.title, date: none)
#set page(paper: "a4", margin: (x: 18mm, y: 18mm), numbering: "1 / 1")
#set text(font: d.fonts, size: 9pt, lang: "en", hyphenate: false)
#show heading: set block(above: 1.4em, below: 0.8em)
#show figure.where(kind: table): set block(breakable: true)
#show figure.where(kind: table): set figure.caption(position: top)
#show figure.caption.where(kind: table): set block(sticky: true)
#show figure.caption: set text(size: 8.5pt)
#show figure.caption: set par(justify: false)
#let cell(c) = if c.at("bold", default: false) { strong(c.text) } else if c.at("muted", default: false) {
  text(fill: luma(120), c.text) } else { c.text }
#let fitted(path) = context {
  let natural = measure(image(path))
  let width = calc.min(page.width - 36mm, 218mm * (natural.width / natural.height))
  image(path, width: width)
}
#let data-table(t) = {
  let n = t.header.len()
  figure(kind: table, caption: t.caption, {
    set text(size: if n > 7 { 6.5pt } else { 8pt })
    table(
      columns: (auto,) * n, align: (x, y) => if x == 0 { left } else { right },
      stroke: (x, y) => (top: if y == 0 { 0.8pt } else if y == 1 or t.rules.contains(y - 1) { 0.4pt } else { 0pt },
                         bottom: 0pt),
      inset: (x: 5pt, y: 2.6pt),
      table.header(..t.header.map(h => strong(h))),
      ..t.rows.flatten().map(cell),
      table.hline(stroke: 0.8pt),
    )
    for note in t.notes { align(left, block(width: 100%, above: 0.5em, text(size: 7pt, note))) }
  })
}
#let key-values(title, rows) = {
  set text(size: 7pt)
  block(breakable: true, [#strong(title)
    #table(columns: (auto, 1fr), stroke: 0.3pt + luma(170), inset: 3pt, ..rows.flatten())])
}

#align(center, text(size: 15pt, weight: "bold", d.title))
#for line in d.lines [#par(line)]
#for s in d.sections {
  if s.title != "" { heading(level: 1, s.title) }
  for line in s.lines [#par(line)]
  for t in s.tables { data-table(t) }
  for f in s.figures {
    pagebreak(weak: true)
    figure(fitted(f.path), caption: f.caption)
    if f.at("provenance", default: ()).len() > 0 { key-values("Provenance of this figure", f.provenance) }
  }
  if s.provenance.len() > 0 { pagebreak(weak: true); key-values("Provenance", s.provenance) }
}
"""


def _zero_width_breaks(text: str, every: int = 24) -> str:
    """A long unbroken token (a hash, a path) with invisible break points, so it wraps in a cell."""
    out = []
    for word in str(text).split(" "):
        out.append("\u200b".join(word[i:i + every] for i in range(0, len(word), every)) if len(word) > every else word)
    return " ".join(out)


def key_values(pairs) -> list[list[str]]:
    """``[[key, value], ...]`` for a provenance table, long values breakable."""
    return [[str(k), _zero_width_breaks(v)] for k, v in pairs]


def table_data(caption: str, header: list[str], rows: list[list[dict]], notes=(), rules=()) -> dict:
    """A table of the template: ``rows`` of cells ``{"text", "bold", "muted"}`` (the first the row's
    label); ``rules``: the rows with a rule above them."""
    return {"caption": caption, "header": [str(h) for h in header], "rows": rows, "notes": list(notes),
            "rules": list(rules)}


@functools.lru_cache(maxsize=1)
def fonts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(font folders, families): matplotlib's DejaVu Sans first, then the CJK fallbacks Typst finds."""
    import matplotlib
    import typst

    from hpe_core.report.style import FALLBACK_FONTS

    folders = (str(Path(matplotlib.get_data_path()) / "fonts" / "ttf"),)
    known = {f.lower() for f in typst.Fonts(font_paths=list(folders)).families()}
    return folders, ("DejaVu Sans", *(f for f in FALLBACK_FONTS if f.lower() in known))


def typeset_pdf(path: Path, doc: dict, root: Path) -> Path:
    """Write ``path`` (atomically), the PDF of ``doc``: ``{"title", "lines": [paragraph], "sections":
    [{"title", "lines", "tables": [table_data(...)], "figures": [{"path" (relative to ``root``),
    "caption", "provenance"?}], "provenance": key_values(...)}]}``. Figures may be PDF, SVG or PNG."""
    import typst

    folders, families = fonts()
    data = {"fonts": list(families), **doc}
    pdf = typst.compile(TEMPLATE.encode(), root=str(root), font_paths=list(folders),
                        sys_inputs={"doc": json.dumps(data, allow_nan=False)}, format="pdf", pdf_tags=False)
    return atomic_write(path, pdf)

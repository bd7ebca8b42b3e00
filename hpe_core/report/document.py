"""``report.html`` (tables inline, figures as relative links to their SVG, provenance) and
``report.pdf`` (typeset by Typst: the tables as tables, then every figure with its caption)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from hpe_core.atomic import atomic_write

CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
       "td,th{border-bottom:1px solid #ccc;padding:2px 8px;text-align:right}caption{font-weight:bold}"
       "img{max-width:100%}pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap}td.na{color:#888}"
       ".note{font-size:small;color:#444;margin:.2em 0}")


def write_html(path: Path, tables: list, figures: list[dict], doc: dict, columns) -> Path:
    from hpe_core.report.tables import html as table_html

    said = verdict(columns, doc["protocol"]["name"])
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>HPE Studio report</title>"
             f"<style>{CSS}</style></head><body><h1>HPE Studio report</h1>",
             f"<p>Dataset <code>{html.escape(doc['dataset']['path'])}</code>, {len(doc['samples'])} samples "
             f"({html.escape(str(doc['settings']['split']))}, seed {doc['seed']}). Protocol "
             f"<b>{html.escape(doc['protocol']['name'])}</b>: {html.escape(doc['protocol']['definition'])}.</p>",
             *(f"<p><b>{html.escape(line)}</b></p>" for line in (said,) if line)]
    for c in columns:
        notes = []
        if c.overall.get("unpredicted"):
            notes.append(f"{c.overall['unpredicted']} sample(s) without a predicted joint left out")
        if c.skipped:
            notes.append(f"{c.skipped} unreadable image(s) skipped")
        parts.append(f"<p><b>{html.escape(c.name)}</b>: {html.escape(c.kind)} <code>{html.escape(c.source)}</code>"
                     f" ({c.overall['samples']} samples scored{'; ' + '; '.join(notes) if notes else ''})</p>")
    parts.append("<h2>Tables</h2>")
    parts += [table_html(t) for t in tables]
    parts.append("<p>Also as Markdown, LaTeX and CSV under <code>tables/</code>.</p><h2>Figures</h2>")
    for f in figures:
        svg = next(p for p in f["files"] if p.suffix == ".svg" and p.parent.name == "2col")
        rel = svg.relative_to(path.parent).as_posix()
        parts.append(f"<figure><img src='{html.escape(rel)}' alt='{html.escape(f['title'])}'>"
                     f"<figcaption>{html.escape(f['title'])} (PDF, SVG, PNG in "
                     f"<code>{html.escape(svg.parent.parent.relative_to(path.parent).as_posix())}/</code>)"
                     f"</figcaption></figure>")
    parts.append("<h2>Provenance</h2><pre>" + html.escape(json.dumps(
        {k: v for k, v in doc.items() if k not in ("samples", "sample_names")}, indent=1)) + "</pre>")
    parts.append("</body></html>\n")
    return atomic_write(path, "\n".join(parts))


def verdict(columns, protocol: str = "standard") -> str:
    """One line: the best model by the error measure each is read by (the GUI's); none under a
    named protocol, whose own tables (its joints, root and alignment) are the numbers to read."""
    from hpe_core.report.scoring import best_column

    best = best_column(columns) if protocol == "standard" else None
    if best is None:
        return ""
    return (f"Best by the error measure (as the GUI reads each model): {best.name}, "
            f"{best.measure.name} {best.error:.1f} mm.")


def _pdf_table(t) -> dict:
    from hpe_core.protocols import manifest_text
    from hpe_core.report.typeset import table_data

    rows = []
    for r, label in enumerate(t.rows):
        best = t.best(r)
        rows.append([{"text": label}] + [{"text": t.cell(r, c) + "†" * ((r, c) in t.muted), "bold": c in best,
                                          "muted": (r, c) in t.muted} for c in range(len(t.columns))])
    pooled = [len(t.rows) - 1] if t.key.startswith("per_") else []
    manifest = [f"Protocol: {manifest_text(t.manifest)}"] if t.manifest else []
    return table_data(t.title, ["", *t.columns], rows, t.footnotes + manifest, pooled)


def write_pdf(path: Path, tables: list, figures: list[dict], doc: dict, columns=()) -> Path:
    """``report.pdf`` typeset by Typst (:mod:`.typeset`): the setting and the verdict, every table,
    then every figure (its two-column PDF, vector) with its caption on a page of its own."""
    from hpe_core.report.figures import close
    from hpe_core.report.typeset import key_values, typeset_pdf

    close(figures)
    lines = [f"Dataset {doc['dataset']['path']}, {len(doc['samples'])} samples ({doc['settings']['split']}, "
             f"seed {doc['seed']}). Protocol {doc['protocol']['name']}: {doc['protocol']['definition']}."]
    lines += [line for line in (verdict(columns, doc["protocol"]["name"]),) if line]
    lines.append("The tables follow, then each figure on a page of its own (as PDF, SVG and PNG, one and two "
                 "columns wide, under figures/; the tables as Markdown, LaTeX and CSV under tables/).")
    figs = [{"path": next(p for p in f["files"] if p.suffix == ".pdf" and p.parent.name == "2col")
             .relative_to(path.parent).as_posix(), "caption": f["title"]} for f in figures]
    prov = key_values(sorted((k, json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in doc.items()
                             if k not in ("samples", "sample_names")))
    sections = [{"title": "Tables", "lines": [], "tables": [_pdf_table(t) for t in tables], "figures": [],
                 "provenance": []},
                {"title": "", "lines": [], "tables": [], "figures": figs, "provenance": prov}]
    return typeset_pdf(path, {"title": "HPE Studio report", "lines": lines, "sections": sections}, path.parent)

"""Report tables: rows of numbers, one column per model, written as Markdown, LaTeX and CSV.

The best value of each row (lowest error, highest PCK / AUC) is bold in Markdown and LaTeX
(``booktabs`` rules, ``\\textbf``); the CSV holds the full-precision numbers (``repr``), PCK and
AUC as fractions (Markdown and LaTeX show them in percent). A table scored by a protocol carries its
manifest (:func:`hpe_core.protocols.manifest`) beside it: a Markdown footnote, a note in the LaTeX
caption, ``#`` comment lines above the CSV header and a line under the HTML caption. Each model is
read by its error measure (:mod:`hpe_core.error_measure`, the GUI's): the overall table leads with
it and says which; a metric that is not meaningful for a model (the raw MPJPE of a rotation-aligned
head) is ``muted``: marked †, greyed in HTML and PDF, never bold, with a footnote.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

# metric key -> (label, units, higher is better, decimals)
METRICS = {
    "mpjpe": ("MPJPE", "mm", False, 1),
    "pa_mpjpe": ("PA-MPJPE", "mm", False, 1),
    "n_mpjpe": ("N-MPJPE", "mm", False, 1),
    "pck3d": ("PCK@150mm", "%", True, 1),
    "auc3d": ("AUC", "%", True, 1),
    "mean_distance": ("Mean distance", "mm", False, 1),
    "bone_length_error": ("Bone length error", "mm", False, 1),
    "pck2d": ("2D PCK@0.05", "%", True, 1),
    "epe": ("EPE", "px", False, 2),
    "mean_of_k": ("MPJPE mean of K", "mm", False, 1),
    "best_of_k": ("MPJPE best of K", "mm", False, 1),
}


@dataclass
class Table:
    """``values[r][c]`` (float or None) of row ``rows[r]`` and model ``columns[c]``."""

    key: str
    title: str
    rows: list[str]
    columns: list[str]
    values: list[list[float | None]]
    higher_better: list[bool]
    decimals: list[int]
    percent: list[bool]
    manifest: dict | None = None  # the protocol's manifest, written beside the table
    muted: set[tuple[int, int]] = field(default_factory=set)  # (row, column) of not-meaningful values
    footnotes: list[str] = field(default_factory=list)

    def best(self, r: int) -> set[int]:
        vals = [(c, v) for c, v in enumerate(self.values[r])
                if v is not None and math.isfinite(v) and (r, c) not in self.muted]
        if len(vals) < 2:
            return set()
        pick = max if self.higher_better[r] else min
        top = round(pick(v for _, v in vals) * (100 if self.percent[r] else 1), self.decimals[r])
        return {c for c, v in vals if round(v * (100 if self.percent[r] else 1), self.decimals[r]) == top}

    def cell(self, r: int, c: int) -> str:
        v = self.values[r][c]
        if v is None or not math.isfinite(v):
            return "–"
        return f"{v * (100 if self.percent[r] else 1):.{self.decimals[r]}f}"


def metric_row(key: str) -> tuple[str, bool, int, bool]:
    label, units, higher, decimals = METRICS[key]
    return f"{label} ({units})", higher, decimals, units == "%"


def overall_table(columns) -> Table:
    """Every metric (rows) of every model (columns), on all selected samples: the error measure
    first, then the others; see :func:`measure_rows`."""
    from hpe_core.report.measure_rows import lead_keys, with_measure

    keys = [k for k in lead_keys(columns, ("mpjpe", "pa_mpjpe", "n_mpjpe", "pck3d", "auc3d", "mean_distance",
                                           "bone_length_error", "pck2d", "epe"))
            if any(k in c.overall["metrics"] for c in columns)]
    values = [[c.overall["metrics"].get(k) for c in columns] for k in keys]
    for sub, pairs in (("two_d", ("pck2d", "epe")), ("hypotheses", ("mean_of_k", "best_of_k"))):
        for k in pairs:
            if k in keys or not any(getattr(c, sub) for c in columns):
                continue
            keys.append(k)
            values.append([(getattr(c, sub) or {}).get("metrics", getattr(c, sub) or {}).get(k)
                           for c in columns])
    meta = [metric_row(k) for k in keys]
    return with_measure(Table("overall", "All selected samples", [m[0] for m in meta], [c.name for c in columns],
                              values, [m[1] for m in meta], [m[2] for m in meta], [m[3] for m in meta]), columns, keys)


def action_table(columns, metric: str) -> Table | None:
    """``metric`` per action (rows) of every model, and the pooled value over all samples."""
    actions = list(columns[0].per_action) if columns else []
    if not actions:
        return None
    label, higher, decimals, percent = metric_row(metric)
    values = [[(c.per_action.get(a) or {}).get("metrics", {}).get(metric) for c in columns] for a in actions]
    values.append([c.overall["metrics"].get(metric) for c in columns])
    n = len(actions) + 1
    from hpe_core.report.measure_rows import with_measure

    return with_measure(Table(f"per_action_{metric}", f"{label} per action", actions + ["All (pooled)"],
                              [c.name for c in columns], values, [higher] * n, [decimals] * n, [percent] * n),
                        columns, [metric] * n)


def health_table(result: dict, names: dict[str, str]) -> Table | None:
    """The health measures (rows: measure · layer) of each checkpoint (columns) of a
    :meth:`hpe_core.analysis.health_checkpoints.HealthResult.to_dict`; ``names``: checkpoint -> column."""
    from hpe_core.analysis.health import HIGHER_IS_BETTER, MEASURES

    if not result or not result.get("rows"):
        return None
    models = list(dict.fromkeys(names[r["checkpoint"]] for r in result["rows"]))
    layers = list(dict.fromkeys(r["layer"] for r in result["rows"]))
    keys = [(m, layer) for layer in layers for m in MEASURES if m != "knn_chance"]
    by = {(names[r["checkpoint"]], r["layer"]): r for r in result["rows"]}
    values = [[(by.get((model, layer)) or {}).get(m) for model in models] for m, layer in keys]
    decimals = [1 if m in ("rankme", "probe_pa_mpjpe") else 3 for m, _ in keys]
    return Table("health", f"Representation health ({result['samples']} samples; kNN and probe scored on "
                 f"{result['scored']})", [f"{MEASURES[m]} · {layer}" for m, layer in keys], models, values,
                 [bool(HIGHER_IS_BETTER[m]) for m, _ in keys], decimals, [False] * len(keys))


def with_manifest(made: list[Table], manifest: dict) -> list[Table]:
    """``made`` with ``manifest`` beside each table."""
    for t in made:
        t.manifest = manifest
    return made


def _note(t: Table) -> str:
    from hpe_core.protocols import manifest_text

    return manifest_text(t.manifest) if t.manifest else ""


def markdown(t: Table) -> str:
    lines = [f"**{t.title}**" + ("[^protocol]" if t.manifest else ""), "", "| | " + " | ".join(t.columns) + " |",
             "|---|" + "---:|" * len(t.columns)]
    for r, row in enumerate(t.rows):
        best = t.best(r)
        cells = [f"**{t.cell(r, c)}**" if c in best else t.cell(r, c) + "†" * ((r, c) in t.muted)
                 for c in range(len(t.columns))]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += [""] * bool(t.footnotes) + t.footnotes
    if t.manifest:
        lines += ["", f"[^protocol]: {_note(t)}"]
    return "\n".join(lines) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "–": "--",
        "<": r"\textless{}", ">": r"\textgreater{}"}


def tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def latex(t: Table) -> str:
    """A ``table`` environment with a booktabs ``tabular``; needs ``\\usepackage{booktabs}``."""
    note = rf" {{\footnotesize {tex_escape(_note(t))}}}" if t.manifest else ""
    caption = rf"\caption[{tex_escape(t.title)}]{{{tex_escape(t.title)}.{note}}}" if note else \
        rf"\caption{{{tex_escape(t.title)}}}"
    lines = [r"\begin{table}[t]", r"\centering", caption,
             rf"\label{{tab:{t.key.replace('_', '-')}}}", r"\begin{tabular}{l" + "r" * len(t.columns) + "}",
             r"\toprule", " & ".join([""] + [tex_escape(c) for c in t.columns]) + r" \\", r"\midrule"]
    for r, row in enumerate(t.rows):
        if r == len(t.rows) - 1 and t.key.startswith("per_"):
            lines.append(r"\midrule")
        best = t.best(r)
        cells = [rf"\textbf{{{tex_escape(t.cell(r, c))}}}" if c in best else
                 tex_escape(t.cell(r, c)) + r"\textsuperscript{\dag}" * ((r, c) in t.muted)
                 for c in range(len(t.columns))]
        lines.append(" & ".join([tex_escape(row)] + cells) + r" \\")
    notes = [r"\par\smallskip{\footnotesize " + tex_escape(n).replace("†", r"\dag{}") + "}" for n in t.footnotes]
    lines += [r"\bottomrule", r"\end{tabular}", *notes, r"\end{table}"]
    return "\n".join(lines) + "\n"


def csv_text(t: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for key, value in (t.manifest or {}).items():
        buf.write(f"# {key}: {', '.join(value) if isinstance(value, list) else value}\n")
    w.writerow(["row"] + t.columns)
    for r, row in enumerate(t.rows):
        label = row.replace("(%)", "(fraction)") if t.percent[r] else row  # the exact values, not x100
        w.writerow([label] + ["" if v is None else repr(float(v)) for v in t.values[r]])
    return buf.getvalue()


def html(t: Table) -> str:
    from html import escape

    head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
    body = []
    for r, row in enumerate(t.rows):
        best = t.best(r)
        cells = "".join(f"<td><b>{t.cell(r, c)}</b></td>" if c in best else
                        f"<td class='na'>{t.cell(r, c)}†</td>" if (r, c) in t.muted else f"<td>{t.cell(r, c)}</td>"
                        for c in range(len(t.columns)))
        body.append(f"<tr><th>{escape(row)}</th>{cells}</tr>")
    note = f"<br><small>{escape(_note(t))}</small>" if t.manifest else ""
    notes = "".join(f"<p class='note'>{escape(n)}</p>" for n in t.footnotes)
    return (f"<table><caption>{escape(t.title)}{note}</caption><tr><th></th>{head}</tr>" + "".join(body) + "</table>"
            + notes)


def all_tables(columns) -> list[Table]:
    out = [overall_table(columns)]
    for metric in ("mpjpe", "pa_mpjpe"):
        t = action_table(columns, metric)
        if t is not None:
            out.append(t)
    return out

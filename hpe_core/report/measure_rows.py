"""The error measure in the report's tables: each model is read by the GUI's measure
(:mod:`hpe_core.error_measure`), the overall table leads with it and names it, and the metrics that
are not meaningful for a model (taken without a rotation, of a head whose poses are defined only up
to one) are muted: marked †, never bold, explained in a footnote.
"""

from __future__ import annotations

NOT_MEANINGFUL = ("† not meaningful: taken without a rotation, for a model whose poses are defined only "
                  "up to one (trained with a rotation-aligned loss); read such a model by PA-MPJPE.")
LEAD_ROW = "Error measure (mm)"
BY_MEASURE_ROWS = (("pck3d", "PCK@150mm of the error measure (%)"), ("auc3d", "AUC of the error measure (%)"))


def _scored(columns) -> list:
    return [c for c in columns if c.overall.get("dims") == 3]


def shared_measure(columns):
    """The error measure every 3D model is read by, else None (they differ, or none is 3D)."""
    measures = {c.measure for c in _scored(columns)}
    return measures.pop() if len(measures) == 1 else None


def lead_keys(columns, keys) -> list[str]:
    """``keys`` with the shared error measure's first (as Compare lists it)."""
    first = shared_measure(columns)
    return sorted(keys, key=lambda k: first is None or k != first.key)


def measure_note(columns) -> str:
    """Which measure each model is read by, and why a measure other than MPJPE."""
    groups: dict = {}
    for c in _scored(columns):
        groups.setdefault(c.measure.name, []).append(c)
    parts = []
    for name, group in groups.items():
        reasons = {c.measure.reason for c in group if c.measure.rotation_aligned and c.measure.reason}
        why = f" ({'; '.join(sorted(reasons))})" if reasons else ""
        parts.append(f"{name}: {', '.join(c.name for c in group)}{why}")
    return "Error measure, as the GUI reads each model: " + "; ".join(parts) + "."


def with_measure(table, columns, keys: list[str]):
    """``table`` (row ``r`` holds metric ``keys[r]``) with the not-meaningful cells muted; the
    overall table also with the error measure named and first, and the PCK and AUC of the measure's
    errors when a model is read by another measure than MPJPE (the PCK curve draws those)."""
    if not _scored(columns):
        return table
    if table.key == "overall":
        shared = shared_measure(columns)
        if shared is None:
            _insert_row(table, 0, LEAD_ROW, [c.error for c in columns], False, 1, False)
            keys = [None, *keys]
        if any(c.measure.rotation_aligned for c in columns):
            for key, label in BY_MEASURE_ROWS:
                _insert_row(table, len(table.rows), label, [c.by_measure.get(key) for c in columns], True, 1, True)
                keys.append(None)
        named = shared.name if shared else "each model’s (see the note)"
        table.title += f" · error measure: {named}; bold: the best"
        table.footnotes.append(measure_note(columns))
    table.muted |= {(r, k) for r, key in enumerate(keys) if key
                    for k, c in enumerate(columns) if c.not_meaningful(key)}
    if table.muted:
        table.footnotes.append(NOT_MEANINGFUL)
    return table


def _insert_row(table, at: int, label: str, values: list, higher: bool, decimals: int, percent: bool) -> None:
    table.rows.insert(at, label)
    table.values.insert(at, values)
    table.higher_better.insert(at, higher)
    table.decimals.insert(at, decimals)
    table.percent.insert(at, percent)

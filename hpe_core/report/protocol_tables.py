"""The report's tables of a named protocol (``hpe report --protocol NAME``), one column per model.

- ``overall``: every measure of the protocol on each of its joint variants (Human3.6M's 17, 16 and
  14 joints, MPI-INF-3DHP's 14 and 17 side by side in one table), all selected samples;
- ``per_<group>_<measure>``: each measure per group of the protocol (Human3.6M: per action;
  MPI-INF-3DHP: per test sequence and per activity; 3DPW: per sequence), on the chosen variant;
- ``joint_groups`` (MPI-INF-3DHP: PCK and AUC per joint group of the kit), ``per_keypoint`` (COCO).

Each table carries the protocol's manifest (:mod:`hpe_core.report.tables`).
"""

from __future__ import annotations

from hpe_core.report.tables import Table

def score_columns(columns, dataset, rows, protocol, fingerprint: str) -> dict:
    """``{column name: {joint count: score_protocol(...)}}`` of every variant of ``protocol``."""
    from hpe_core.inference.protocol_scoring import score_protocol

    variants = protocol.joints or (None,)
    return {c.name: {v: score_protocol(c.prediction, dataset, rows, protocol.name, v, c.source,
                                       fingerprint=fingerprint) for v in variants} for c in columns}


def _row(key: str, suffix: str = "") -> tuple[str, bool, int, bool]:
    from hpe_core.protocols import HIGHER_IS_BETTER, LABELS

    label, units = LABELS.get(key, (key, ""))
    return f"{label} ({units}){suffix}", key in HIGHER_IS_BETTER, 1, units == "%"


def _table(key: str, title: str, rows: list[tuple[str, tuple]], names: list[str], manifest: dict) -> Table:
    """A table of ``rows`` (label, (row meta of :func:`_row`), values per column)."""
    return Table(key, title, [r[0] for r in rows], names, [list(r[2]) for r in rows], [r[1][1] for r in rows],
                 [r[1][2] for r in rows], [r[1][3] for r in rows], manifest)


def protocol_tables(protocol, scores: dict, joints: int | None) -> list[Table]:
    names = list(scores)
    first = scores[names[0]]
    variants = list(first)
    chosen = joints if joints in first else variants[0]
    manifest = first[chosen]["manifest"]
    overall_manifest = {**manifest, "joints": " | ".join(first[v]["manifest"]["joints"] for v in variants)} \
        if len(variants) > 1 else manifest
    rows = []
    for v in variants:
        suffix = f", {v} joints" if len(variants) > 1 else ""
        for key in first[v]["metrics"]:
            rows.append((None, _row(key, suffix), [scores[n][v]["metrics"].get(key) for n in names]))
    made = [_table("overall", f"Protocol {protocol.name}: all selected samples", [(r[1][0], *r[1:]) for r in rows],
                   names, overall_manifest)]
    made += _group_tables(protocol, scores, names, chosen, manifest)
    made += _detail_tables(scores, names, chosen, manifest)
    return made


def _group_tables(protocol, scores, names, chosen, manifest) -> list[Table]:
    made = []
    for label in protocol.groups:
        groups = list(dict.fromkeys(g for n in names for g in scores[n][chosen]["groups"].get(label, {})))
        if not groups:
            continue
        keys = [k for k in scores[names[0]][chosen]["metrics"] if not k.endswith("_of_actions")]
        for key in keys:
            meta = _row(key)
            rows = [(g, meta, [(scores[n][chosen]["groups"][label].get(g) or {}).get(key) for n in names])
                    for g in groups]
            rows.append(("All (pooled)", meta, [scores[n][chosen]["metrics"].get(key) for n in names]))
            title = protocol.group_title(label)
            made.append(_table(f"per_{title.split()[-1]}_{key}", f"{meta[0]} per {title}", rows, names, manifest))
    return made


def _detail_tables(scores, names, chosen, manifest) -> list[Table]:
    """The kit's joint groups (3DHP) and COCO's keypoints, when the protocol gives them."""
    first = scores[names[0]][chosen]
    made = []
    if first.get("joint_groups"):
        rows = [(f"{_row(m)[0].split(' (')[0]} · {g}", _row(m),
                 [scores[n][chosen]["joint_groups"][g][m] for n in names])
                for m in ("pck3d", "auc3d") for g in first["joint_groups"]]
        made.append(_table("joint_groups", "PCK and AUC per joint group of the kit", rows, names, manifest))
    if first.get("keypoints"):
        rows = [(f"{_row(m)[0].split(' (')[0]} · {k}", _row(m),
                 [(scores[n][chosen]["keypoints"].get(k) or {}).get(m) for n in names])
                for m in ("ap", "ar") for k in first["keypoints"]]
        made.append(_table("per_keypoint", "OKS AP and AR per keypoint", rows, names, manifest))
    return made

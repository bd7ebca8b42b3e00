"""The text ``hpe evaluate --protocol NAME`` prints: the protocol's numbers, per group, and its manifest."""

from __future__ import annotations

from hpe_core.protocols import LABELS


def value_text(key: str, value: float) -> str:
    label, units = LABELS.get(key, (key, ""))
    shown = f"{100 * value:.1f} %" if units == "%" else f"{value:.2f} {units}"
    return f"{label:<26} {shown}"


def protocol_text(payload: dict) -> str:
    man = payload["manifest"]
    where = payload.get("pred") or payload.get("checkpoint", "")
    lines = [f"protocol    {man['protocol']}: {man['joints']}",
             f"samples     {payload['samples']} ({payload.get('split', '')}, {where})"]
    lines += [value_text(k, v) for k, v in payload["metrics"].items()]
    for name, values in payload.get("joint_groups", {}).items():
        lines.append(f"  {name:<8} PCK {100 * values['pck3d']:.1f} %, AUC {100 * values['auc3d']:.1f} %")
    for label, groups in payload.get("groups", {}).items():
        keys = [k for k in payload["metrics"] if not k.endswith("_of_actions")]
        lines.append(f"per {label}: " + ", ".join(LABELS.get(k, (k,))[0] for k in keys))
        for name, values in groups.items():
            shown = [f"{100 * values[k]:.1f}" if LABELS.get(k, ("", ""))[1] == "%" else f"{values[k]:.2f}"
                     for k in keys if k in values]
            lines.append(f"  {name:<22} {' '.join(f'{s:>9}' for s in shown)}  ({values['samples']} samples)")
    for name, values in payload.get("keypoints", {}).items():
        lines.append(f"  {name:<16} AP {100 * values['ap']:.1f} %, AR {100 * values['ar']:.1f} %")
    if payload.get("unpredicted"):
        lines.append(f"left out    {payload['unpredicted']} sample(s) without any predicted joint")
    from hpe_core.protocols import manifest_text

    lines.append(f"manifest    {manifest_text(man)}")
    return "\n".join(lines)

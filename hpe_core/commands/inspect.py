"""``hpe inspect CKPT``: what a checkpoint holds (family, backbone, layout, heads, sizes)."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_json_flag, emit
from hpe_core.errors import existing_path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="describe a checkpoint: family, backbone, layout, heads, feature sizes",
        description="Describe a checkpoint file without running code from it: its model family, "
        "backbone, the layout it was saved in (native or a foreign one), its heads, the size of "
        "each named feature, conv1's shape, the parameter count, the joints a pose head predicts, "
        "and any missing or unexpected keys. The file's integrity is checked: the CRCs of its zip "
        "container and, for HPE Studio checkpoints, the content hash of the weights stored when it was saved.",
    )
    parser.add_argument("checkpoint", metavar="CKPT", help="a .pt/.pth/.ckpt/.safetensors file")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _text(info: dict) -> str:
    lines = [
        f"checkpoint  {info['path']}",
        f"family      {info['family']}",
        f"backbone    {info['backbone']}" + (f"  (conv1 {'x'.join(str(n) for n in info['conv1_shape'])})"
                                                 if info["conv1_shape"] else ""),
        f"layout      {info['layout']}" + (f"  (format_version {info['format_version']})"
                                           if info.get("format_version") else ""),
        f"parameters  {info['parameters']:,}  ({info['dtype']})",
    ]
    for name, head in info["heads"].items():
        norm = "layernorm, " if head.get("layernorm") else ""
        lines.append(f"head        {name}: {' -> '.join(str(d) for d in head['dims'])}  [{norm}{head['layers']}]")
    if info["joints"]:
        lines.append(f"joints      {info['joints']} ({info['skeleton'] or 'no named skeleton'})")
    lines.append("features    " + ", ".join(f"{k} {v}" for k, v in info["feature_dims"].items()))
    if info["training"]:
        lines.append("training    " + ", ".join(f"{k}={v}" for k, v in info["training"].items()
                                                 if not isinstance(v, (dict, list))))
    for label, key in (("missing", "missing_keys"), ("unexpected", "unexpected_keys"), ("ignored", "ignored_keys")):
        keys = info[key]
        if keys:
            more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
            lines.append(f"{label:<11} {len(keys)} key(s): {', '.join(keys[:5])}{more}")
    lines += [f"note        {note}" for note in info["notes"]]
    if info.get("content_check"):
        lines.append(f"content     {info['content_check']}")
    lines.append(f"sha256      {info['sha256']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from hpe_core.models.checkpoint import inspect_checkpoint

    path = existing_path(args.checkpoint, "checkpoint file")
    info = inspect_checkpoint(path).to_dict()
    # what training kept for resuming (optimizer state, tensors) is not printed
    info["training"] = {k: v for k, v in info["training"].items() if _small_json(v)}
    return emit(args, info, _text)


def _small_json(value) -> bool:
    import json

    try:
        return len(json.dumps(value)) < 4000
    except (TypeError, ValueError):
        return False

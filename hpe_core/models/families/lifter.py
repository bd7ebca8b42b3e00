"""The ``lifter`` family (seed 001): Martinez et al.'s MLP, 2D joints -> root-relative 3D.

Options (see :mod:`hpe_core.models.lifter`): ``skeleton`` ("panoptic19") or ``num_joints``,
``input_joints`` / ``output_joints`` (default all in, all but the root out), ``linear_size``
(1024), ``num_stage`` (2 residual blocks), ``dropout`` (0.5), ``max_norm`` (off),
``pose_head`` ("free"). Recognises the checkpoints of the public PyTorch port
(3d_pose_baseline_pytorch, ``LinearModel``: 16 joints, ``{'state_dict', 'optimizer', 'epoch', ...}``);
those hold no normalisation statistics: :func:`apply_stats` adds them from a file, otherwise
the 3D comes out normalised (said in the checkpoint's notes).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from hpe_core.errors import CheckpointError, InputError
from hpe_core.models.families.base import Family
from hpe_core.models.lifter import PORT_BLOCK_KEYS, PORT_INPUT, PORT_KEYS, PORT_OUTPUT, Lifter, resolve

DEFAULTS = {"skeleton": "panoptic19", "num_joints": None, "root_index": None, "input_joints": None,
            "output_joints": None, "linear_size": 1024, "num_stage": 2, "dropout": 0.5, "max_norm": None,
            "pose_head": "free", "normalised_output": False}
PORT_LAYOUT = "3d_pose_baseline_pytorch"
NORMALISED_NOTE = ("3d_pose_baseline_pytorch checkpoint without normalisation statistics: the 3D comes "
                   "out normalised, not in mm (give the statistics with --stats FILE)")
_BLOCK = re.compile(r"^linear_stages\.(\d+)\.(w1|batch_norm1|w2|batch_norm2)\.(.+)$")
_TOP = re.compile(r"^(w1|batch_norm1|w2)\.(.+)$")


class LifterFamily(Family):
    """pose2d -> pose3d (mm, root-relative)."""

    name = "lifter"
    seed = "001"
    aliases = ("martinez",)
    inputs = frozenset({"pose2d"})
    outputs = frozenset({"pose3d"})
    feature_names = ("hidden", "pose")

    @classmethod
    def resolve(cls, backbone: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        cfg = resolve(options, DEFAULTS)
        if cfg["pose_head"] != "free":
            raise InputError(f"lifter pose_head {cfg['pose_head']!r}: only 'free' is available here")
        return {"family": cls.name, "backbone": None, **cfg}

    @classmethod
    def build(cls, config: Mapping[str, Any]) -> Lifter:
        return Lifter(config)

    @staticmethod
    def recognise(state: Mapping[str, torch.Tensor], hints: Mapping[str, Any]):
        return recognise_port(state)

    @classmethod
    def predict(cls, model: Lifter, batch: Mapping[str, Any]):
        """``{"joints_2d": (N, J, 2) px}`` -> Prediction with ``joints_3d`` (N, J, 3) mm root-relative
        (normalised units when the model has no statistics) and the 2D it was given."""
        from hpe_core.predictions import Prediction

        x = torch.as_tensor(batch["joints_2d"], dtype=torch.float32, device=next(model.parameters()).device)
        if not torch.isfinite(x).all():
            bad = int((~torch.isfinite(x).all(-1)).any(-1).nonzero()[0, 0])
            raise InputError(f"joints_2d: sample {bad} has a NaN or infinite joint; the lifter needs every joint")
        joints = model(x).float().cpu().numpy()
        meta = {"units_3d": "normalised" if model.normalised_output else "mm"}
        return Prediction(joints_3d=joints, frame="root_relative", joints_2d=x.cpu().numpy(),
                          skeleton=model.skeleton, meta=meta)


def recognise_port(state: Mapping[str, torch.Tensor]):
    """A 3d_pose_baseline_pytorch ``LinearModel`` state dict, remapped; None when it is not one."""
    from hpe_core.models.layouts import Recognised

    if "w1.weight" not in state or "w2.weight" not in state or not any(k.startswith("linear_stages.") for k in state):
        return None
    out: dict[str, torch.Tensor] = {}
    ignored = []
    for key, value in state.items():
        block, top = _BLOCK.match(key), _TOP.match(key)
        if block:
            out[f"blocks.{block.group(1)}.{PORT_BLOCK_KEYS[block.group(2)]}.{block.group(3)}"] = value
        elif top:
            out[f"{PORT_KEYS[top.group(1)]}.{top.group(2)}"] = value
        else:
            ignored.append(key)
    size, d_in = out["inp.weight"].shape
    d_out = out["out.weight"].shape[0]
    if (d_in, d_out) != (2 * len(PORT_INPUT), 3 * len(PORT_OUTPUT)):
        exc = CheckpointError(f"a {PORT_LAYOUT} LinearModel with {d_in} inputs and {d_out} outputs; "
                              f"only its Human3.6M 16-joint layout ({2 * len(PORT_INPUT)} -> "
                              f"{3 * len(PORT_OUTPUT)}) is known")
        exc.layout_known = True  # this layout, but unusable: the answer, not a refusal to try others
        raise exc
    stages = sorted({int(m.group(1)) for k in state if (m := _BLOCK.match(k))})
    out.update({"mean_2d": torch.zeros(d_in), "std_2d": torch.ones(d_in),
                "mean_3d": torch.zeros(d_out), "std_3d": torch.ones(d_out)})
    config = {"skeleton": "h36m17", "input_joints": list(PORT_INPUT), "output_joints": list(PORT_OUTPUT),
              "linear_size": int(size), "num_stage": len(stages), "normalised_output": True}
    return Recognised(PORT_LAYOUT, "lifter", None, config, out, ignored=ignored, notes=[NORMALISED_NOTE])


def apply_stats(model: Lifter, path: str | Path) -> None:
    """Normalisation statistics from ``path`` into ``model``: an ``.npz`` or ``.json`` with
    ``mean_2d``, ``std_2d``, ``mean_3d``, ``std_3d``, each either the model's used coordinates
    (2 J_in / 3 J_out values) or all 32 Human3.6M joints (64 / 96 values, Martinez's files)."""
    import json

    path = Path(path)
    if not path.is_file():
        raise InputError(f"--stats {path}: no such file")
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(path.read_text(encoding="utf-8"))
        else:
            with np.load(path, allow_pickle=False) as z:
                raw = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"--stats {path}: not a readable .npz or .json ({exc})") from None
    missing = [k for k in ("mean_2d", "std_2d", "mean_3d", "std_3d") if k not in raw]
    if missing:
        raise InputError(f"--stats {path}: missing {', '.join(missing)}")
    full = {"2d": _h36m32(PORT_INPUT, 2), "3d": _h36m32(PORT_OUTPUT, 3)}
    values = {}
    for key in ("mean_2d", "std_2d", "mean_3d", "std_3d"):
        v = np.asarray(raw[key], dtype=np.float64).reshape(-1)
        want = getattr(model, key).numel()
        if v.size != want and v.size == (64 if key.endswith("2d") else 96):
            v = v[full[key[-2:]]]
        if v.size != want or not np.isfinite(v).all():
            raise InputError(f"--stats {path}: {key} has {v.size} values (finite: {np.isfinite(v).all()}); "
                             f"this lifter needs {want}")
        values[key] = v
    model.set_stats(values["mean_2d"], values["std_2d"], values["mean_3d"], values["std_3d"])


# h36m17 joint k is Human3.6M's 32-joint index H36M32[k] (Martinez's dimensions to use)
H36M32 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


def _h36m32(joints, dims: int) -> np.ndarray:
    return np.array([H36M32[j] * dims + d for j in joints for d in range(dims)])

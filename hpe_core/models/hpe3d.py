"""Checkpoints saved by the thesis' public code (HPE3D): one file per part of a run.

HPE3D's ``ModelCheckpoint`` writes ``<run>_Encoder2D.pt``, ``<run>_Decoder3D.pt`` and
``<run>_Discriminator.pt`` side by side, each ``{'epoch', 'val_loss', 'model_state_dict'}``
(sometimes with ``optimizer_state_dict``). Opening any one of them finds its siblings of the same
run in the same folder; the encoder and the decoder are required (a lifter without either cannot
lift), the discriminator is optional (training only). Every file is read with
``torch.load(weights_only=True)``.

The part is recognised from its public key names (see :mod:`hpe_core.models.vae_lifter`), and the
sizes (joints, hidden units, latent dimension) are read from tensor shapes, never guessed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch

from hpe_core.errors import CheckpointError

PARTS = ("Encoder2D", "Decoder3D", "Discriminator")
ATTRIBUTE = {"Encoder2D": "encoder", "Decoder3D": "decoder", "Discriminator": "discriminator"}
#: keys that identify each part
SIGNATURES = {
    "Encoder2D": ("enc_inp_block.0.weight", "features.BB_1.w1.weight", "fc_mean.weight", "fc_logvar.weight"),
    "Decoder3D": ("dec_inp_block.0.weight", "features.BB_1.w1.weight", "dec_out_block.0.weight"),
    "Discriminator": ("inp_block.0.weight", "features.BB_1.w1.weight", "out_block.0.weight"),
}
_SKELETON_BY_JOINTS = {17: "h36m17", 19: "panoptic19"}


class HPE3DError(CheckpointError):
    """A file recognised as an HPE3D part whose run cannot be opened (the reader stops here)."""

    layout_known = True


_NAME = re.compile(r"^(?P<run>.+)_(?P<part>Encoder2D|Decoder3D|Discriminator)$")


def recognise_part(keys: Iterable[str]) -> str | None:
    """Which HPE3D part a state dict with ``keys`` is ("Encoder2D", ...), or None."""
    keys = {k.removeprefix("module.") for k in keys}
    for part, needed in SIGNATURES.items():
        if all(k in keys for k in needed):
            return part
    return None


def run_files(path: str | Path) -> tuple[str, dict[str, Path]]:
    """``(run name, {part: path})`` of the parts of ``path``'s run that exist beside it."""
    path = Path(path)
    match = _NAME.match(path.stem)
    if match is None:
        raise HPE3DError(f"{path}: not named like an HPE3D part (<run>_Encoder2D.pt, "
                              "<run>_Decoder3D.pt or <run>_Discriminator.pt)")
    run = match.group("run")
    found = {part: path.with_name(f"{run}_{part}{path.suffix}") for part in PARTS}
    return run, {part: p for part, p in found.items() if p.is_file()}


def _part_state(path: Path) -> tuple[str | None, dict[str, torch.Tensor], dict[str, Any]]:
    from hpe_core.models.safe_load import read_checkpoint_file

    try:
        obj, kind = read_checkpoint_file(path)
    except CheckpointError as exc:  # unsafe or corrupt: refused, and that is the answer for the run
        raise HPE3DError(str(exc)) from None
    if kind != "torch" or not isinstance(obj, Mapping) or not isinstance(obj.get("model_state_dict"), Mapping):
        return None, {}, {}
    state = {k.removeprefix("module."): v for k, v in obj["model_state_dict"].items() if isinstance(v, torch.Tensor)}
    info = {k: obj[k] for k in ("epoch", "val_loss") if isinstance(obj.get(k), (int, float))}
    return recognise_part(state), state, info


def _shape(state: dict, key: str, path: Path) -> tuple[int, ...]:
    if key not in state:
        raise HPE3DError(f"{path}: tensor '{key}' is missing; the file is incomplete")
    return tuple(state[key].shape)


def _config(states: dict[str, dict], paths: dict[str, Path]) -> dict[str, Any]:
    enc, dec = states["Encoder2D"], states["Decoder3D"]
    neurons, inputs = _shape(enc, "enc_inp_block.0.weight", paths["Encoder2D"])
    latent = _shape(enc, "fc_mean.weight", paths["Encoder2D"])[0]
    outputs = _shape(dec, "dec_out_block.0.weight", paths["Decoder3D"])[0]
    if inputs % 2 or outputs % 3 or inputs // 2 != outputs // 3:
        raise HPE3DError(f"{paths['Decoder3D']}: the decoder outputs {outputs} values, but the encoder "
                              f"takes {inputs}; they are not parts of one lifter")
    if _shape(dec, "dec_inp_block.0.weight", paths["Decoder3D"])[1] != latent:
        raise HPE3DError(f"{paths['Decoder3D']}: its latent size differs from the encoder's ({latent})")
    joints = inputs // 2 + 1  # HPE3D drops the root joint
    cfg: dict[str, Any] = {"num_joints": joints, "skeleton": _SKELETON_BY_JOINTS.get(joints),
                           "neurons": neurons, "latent_dim": latent, "root_index": 0}
    disc = states.get("Discriminator")
    if disc is not None:
        cfg["disc_joints"] = _shape(disc, "inp_block.0.weight", paths["Discriminator"])[1] // 2
        cfg["disc_bias"] = "features.BB_1.w1.bias" in disc
    return cfg


def read_run(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]:
    """``(config, state, info)`` of the HPE3D run of ``path`` (any of its part files): the lifter
    config read from tensor shapes, one state dict with ``encoder.``, ``decoder.`` and
    ``discriminator.`` prefixes (a missing discriminator is filled with fresh weights, and a note
    says so), and ``info`` (``run``, ``files``, ``epochs``, ``val_loss``, ``notes``).
    :class:`CheckpointError` when the encoder or the decoder is missing, a file is not an HPE3D
    part, or the parts do not fit together."""
    from hpe_core.models.vae_lifter import VAELifter, resolve_config

    path = Path(path)
    run, files = run_files(path)
    for needed in ("Encoder2D", "Decoder3D"):
        if needed not in files:
            what = "decoder" if needed == "Decoder3D" else "encoder"
            raise HPE3DError(f"{path}: HPE3D run '{run}' has no {what} file "
                                  f"({run}_{needed}{path.suffix} is not beside it); a lifter needs "
                                  "the encoder and the decoder")
    states, meta, notes = {}, {}, []
    for part, file in files.items():
        found, state, info = _part_state(file)
        if found != part:
            raise HPE3DError(f"{file}: named like the {part} of an HPE3D run, but its keys are "
                                  f"{'those of the ' + found if found else 'not an HPE3D part'}")
        states[part], meta[part] = state, info
    cfg = resolve_config(**_config(states, files))
    if cfg["skeleton"] is None:
        notes.append(f"{cfg['num_joints']} joints: no known skeleton of that size")
    if "Discriminator" not in files:
        notes.append("no discriminator file: the discriminator starts untrained (only training needs it)")
        states["Discriminator"] = VAELifter(cfg).discriminator.state_dict()
    model = VAELifter(cfg)
    combined = {}
    for part, state in states.items():
        module = ATTRIBUTE[part]
        _check_part(getattr(model, module), state, files.get(part, path))
        combined.update({f"{module}.{k}": v for k, v in state.items()})
    info = {"layout": "hpe3d", "run": run, "files": {p: str(f) for p, f in files.items()},
            "epochs": {p: m.get("epoch") for p, m in meta.items()},
            "val_loss": {p: m.get("val_loss") for p, m in meta.items()}, "notes": notes}
    return cfg, combined, info


def recognise_hpe3d(state: Mapping[str, Any], hints: Mapping[str, Any]):
    """The family recogniser: a state dict of an HPE3D part whose file (``hints["path"]``) has its
    siblings beside it -> a ``Recognised`` of the whole lifter; None for anything else."""
    from hpe_core.models.layouts import Recognised

    if recognise_part(state) is None or not hints.get("path"):
        return None
    cfg, combined, info = read_run(hints["path"])
    config = {k: v for k, v in cfg.items() if k not in ("family", "backbone")}
    notes = [f"HPE3D run '{info['run']}': parts {', '.join(info['files'])}", *info["notes"]]
    return Recognised("hpe3d", "vae_lifter", "mlp", config, combined, notes=notes)


def load_hpe3d(path: str | Path, device: Any = "cpu"):
    """``(VAELifter in eval mode, info)`` from the HPE3D run of ``path`` (see :func:`read_run`)."""
    from hpe_core.devices import resolve_device
    from hpe_core.models.vae_lifter import VAELifter

    cfg, combined, info = read_run(path)
    model = VAELifter(cfg)
    model.load_state_dict(_fitted(combined, model.state_dict()))
    return model.to(resolve_device(device)).eval(), info


def _check_part(module: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    for key, value in module.state_dict().items():
        have = state.get(key)
        if have is None:
            if key.endswith("num_batches_tracked"):
                continue
            raise HPE3DError(f"{path}: tensor '{key}' is missing; the file is incomplete")
        if tuple(have.shape) != tuple(value.shape):
            raise HPE3DError(f"{path}: tensor '{key}' has shape {tuple(have.shape)}, expected "
                                  f"{tuple(value.shape)}")


def _fitted(state: dict, want: dict) -> dict:
    return {k: state[k].to(v.dtype) if k in state else v for k, v in want.items()}

"""Recognise foreign checkpoint layouts from their keys and remap them onto ``HPEModel`` keys.

Nothing is guessed silently: the backbone is found by its key pattern, its depth and width are
read from tensor shapes, every head is described layer by layer from its tensors, and keys that
belong to nothing are reported (``ignored`` for known training-only parts such as MoCo's key
encoder or solo-learn's online classifier, ``unexpected`` for the rest).

Layouts: torchvision; the seed project's SimCLR (``fc.layers.0/2``), SimSiam (``base.*``,
``base.fc.proj.*``, ``predictor.*``), regression Estimator (``fc.LN``, ``fc.layers.linearN``) and
MoCo (``encoder_q.*``); facebookresearch/simsiam (``encoder.*`` whose ``fc`` is the projector,
``predictor.*``); solo-learn (``backbone.*``, ``projector.*``, ``predictor.*``); lightly
(``backbone.*`` named or as ``nn.Sequential`` children, ``projection_head.layers.*``,
``prediction_head.layers.*``); a raw ``HPEModel`` state dict. ``module.`` prefixes are removed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import torch

from hpe_core.errors import CheckpointError, InputError
from hpe_core.models import heads
from hpe_core.models.resnet import ARCHS

Tensors = dict[str, torch.Tensor]
# lightly's ``nn.Sequential(*list(resnet.children())[:-1])``: child index -> torchvision name
_CHILDREN = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}
_SECOND_COPIES = ("encoder_k", "momentum", "target", "teacher", "ema")
_IGNORED_TOP = ("queue", "queue_ptr", "classifier", "encoder_k", "momentum_backbone",
                "momentum_projector", "momentum_classifier", "target", "teacher")
_SKELETON_BY_JOINTS = {19: "panoptic19", 17: "h36m17"}


@dataclass
class Recognised:
    """What a foreign state dict holds, in ``build_model`` terms, with remapped tensors."""

    layout: str
    family: str
    backbone: str
    config: dict[str, Any]
    state_dict: Tensors
    ignored: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def strip_wrappers(state: Tensors) -> tuple[Tensors, list[str]]:
    """Drop ``module.`` (nn.DataParallel / DDP) and ``_orig_mod.`` (torch.compile) path parts."""
    out, notes = {}, []
    for key, value in state.items():
        parts = key.split(".")
        kept = [p for p in parts[:-1] if p not in ("module", "_orig_mod")] + parts[-1:]
        out[".".join(kept)] = value
    if len(out) != len(state):
        raise CheckpointError("keys collide once 'module.' prefixes are removed")
    if any(k.startswith("module.") or ".module." in k for k in state):
        notes.append("removed 'module.' prefixes (saved from nn.DataParallel / DDP)")
    return out, notes


def _backbone_prefixes(state: Tensors) -> list[tuple[str, str]]:
    """[(prefix, style)] of every ResNet in ``state``; style 'named' or 'children'."""
    found = []
    for key in state:
        if key.endswith("layer1.0.conv1.weight"):
            found.append((key[: -len("layer1.0.conv1.weight")], "named"))
        elif key.endswith("4.0.conv1.weight"):
            prefix = key[: -len("4.0.conv1.weight")]
            if (prefix == "" or prefix.endswith(".")) and getattr(state.get(prefix + "0.weight"), "ndim", 0) == 4:
                found.append((prefix, "children"))
    return found


def _pick_backbone(state: Tensors, notes: list[str]) -> tuple[str, str]:
    found = _backbone_prefixes(state)
    primary = [f for f in found if not any(s in f[0] for s in _SECOND_COPIES)]
    if not primary:
        sample = ", ".join(list(state)[:5])
        raise CheckpointError(f"holds no ResNet backbone (no 'conv1.weight' / 'layer1.0.conv1.weight' "
                              f"keys); its first keys are: {sample}")
    primary.sort(key=lambda f: len(f[0]))
    if len(primary) > 1:
        notes.append(f"several backbones found; using '{primary[0][0] or '(top level)'}'")
    return primary[0]


def _backbone_tensors(state: Tensors, prefix: str, style: str) -> Tensors:
    """torchvision-named tensors of the backbone at ``prefix`` (``fc`` excluded)."""
    out = {}
    for key, value in state.items():
        if not key.startswith(prefix):
            continue
        first, _, rest = key[len(prefix):].partition(".")
        name = _CHILDREN.get(first) if style == "children" else first
        if name in ("conv1", "bn1", "layer1", "layer2", "layer3", "layer4"):
            out[f"{name}.{rest}"] = value
    return out


def infer_resnet(tensors: Tensors) -> tuple[str, int, int]:
    """(arch, width, in_channels) from torchvision-named backbone tensors."""
    conv1 = tensors.get("conv1.weight")
    if conv1 is None or conv1.ndim != 4:
        raise CheckpointError("backbone has no 4-D 'conv1.weight'")
    if tuple(conv1.shape[2:]) != (7, 7):
        raise CheckpointError(f"conv1 is {conv1.shape[2]}x{conv1.shape[3]} (a CIFAR-style stem); "
                              "only the 7x7 ImageNet stem of torchvision's ResNet is supported")
    kind = "bottleneck" if "layer1.0.conv3.weight" in tensors else "basic"
    counts = []
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        blocks = {k.split(".")[1] for k in tensors if k.startswith(stage + ".")}
        counts.append(len(blocks))
    for arch, (arch_kind, arch_counts) in ARCHS.items():
        if arch_kind == kind and tuple(counts) == arch_counts:
            return arch, int(conv1.shape[0]), int(conv1.shape[1])
    raise CheckpointError(f"a {kind}-block ResNet with {counts} blocks per stage is not one of "
                          f"{', '.join(ARCHS)}")


def parse_sequential(tensors: Tensors, where: str) -> heads.Spec:
    """Describe an ``nn.Sequential`` from keys '<i>.<param>'; gaps in the indices are ReLUs."""
    groups: dict[int, Tensors] = defaultdict(dict)
    for key, value in tensors.items():
        index, _, param = key.partition(".")
        if not index.isdigit() or "." in param:
            raise CheckpointError(f"{where}: key '{key}' is not '<index>.<parameter>'")
        groups[int(index)][param] = value
    spec: heads.Spec = []
    for i in range(max(groups) + 1):
        g = groups.get(i)
        if g is None:
            spec.append(["relu"])
        elif "running_mean" in g:
            spec.append(["bn", int(g["running_mean"].shape[0]), "weight" in g])
        elif getattr(g.get("weight"), "ndim", 0) == 2:
            spec.append(["linear", int(g["weight"].shape[1]), int(g["weight"].shape[0]), "bias" in g])
        elif getattr(g.get("weight"), "ndim", 0) == 1 and "bias" in g:
            spec.append(["ln", int(g["weight"].shape[0])])
        else:
            raise CheckpointError(f"{where}: layer {i} with tensors {sorted(g)} is not a Linear, "
                                  "BatchNorm or LayerNorm")
    try:
        return heads.check_spec(spec, where)
    except InputError as exc:
        raise CheckpointError(str(exc)) from None


def _sub(state: Tensors, prefix: str) -> Tensors:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _named_linears(tensors: Tensors, where: str) -> tuple[heads.Spec, Tensors]:
    """The seed Estimator's ``layers.linear1, linear2, ...`` -> (spec, tensors keyed by index)."""
    order = sorted({int(m.group(1)) for k in tensors if (m := re.match(r"linear(\d+)\.", k))})
    remapped = {}
    for pos, n in enumerate(order):
        for param in ("weight", "bias"):
            if f"linear{n}.{param}" in tensors:
                remapped[f"{2 * pos}.{param}"] = tensors[f"linear{n}.{param}"]
    extra = sorted(k for k in tensors if not re.match(r"linear\d+\.(weight|bias)$", k))
    if extra:
        raise CheckpointError(f"{where}: unexpected keys {extra[:3]}")
    return parse_sequential(remapped, where), remapped


class _Picker:
    """Hands out groups of keys and remembers which were used."""

    def __init__(self, state: Tensors):
        self.state = state
        self.used: set[str] = set()

    def take(self, prefix: str) -> Tensors:
        sub = {k[len(prefix):]: v for k, v in self.state.items() if k.startswith(prefix)}
        self.used.update(prefix + k for k in sub)
        return sub

    def take_backbone(self, prefix: str, style: str) -> Tensors:
        tensors = _backbone_tensors(self.state, prefix, style)
        for key in self.state:
            first = key[len(prefix):].partition(".")[0] if key.startswith(prefix) else None
            if first is not None and (_CHILDREN.get(first) if style == "children" else first) in (
                    "conv1", "bn1", "layer1", "layer2", "layer3", "layer4"):
                self.used.add(key)
        return tensors

    def leftovers(self, parent: str) -> tuple[list[str], list[str]]:
        ignored, unexpected = [], []
        for key in self.state:
            if key in self.used:
                continue
            rel = key[len(parent):] if key.startswith(parent) else key
            parts = rel.split(".")
            known = parts[0] in _IGNORED_TOP or any(s in p for p in parts[:-1] for s in _SECOND_COPIES)
            (ignored if known else unexpected).append(key)
        return ignored, unexpected


def _fc_head(fc: Tensors, prefix: str) -> tuple[str, Any]:
    """Classify a backbone's ``fc`` keys: ('classifier'|'projector'|'pose'|'unknown', payload)."""
    if not fc:
        return "none", None
    if set(fc) <= {"weight", "bias"} and fc.get("weight") is not None and fc["weight"].ndim == 2:
        if prefix == "encoder_q.":  # MoCo v1: the query encoder's fc is a 1-layer projection
            return "projector", ({f"0.{k}": v for k, v in fc.items()}, "fc")
        return "classifier", fc
    if any(k.startswith("LN.") or k.startswith("layers.linear") for k in fc):
        return "pose", fc
    for sub, source in (("layers.", "fc.layers"), ("proj.", "fc.proj"), ("", "fc")):
        part = {k[len(sub):]: v for k, v in fc.items() if k.startswith(sub)}
        if part and len(part) == len(fc) and all(k.split(".")[0].isdigit() for k in part):
            return "projector", (part, source)
    return "unknown", fc


def _layout_name(prefix: str, sources: dict[str, str]) -> str:
    """Name the layout from where the backbone sits and where each head came from."""
    proj, pose = sources.get("projector"), sources.get("pose")
    if prefix == "encoder." and (proj == "projector" or pose == "head"):
        return "hpe-studio-state-dict"
    if prefix == "":
        return "seed-simclr" if proj == "fc.layers" else "seed-regressor" if pose == "fc" else "torchvision"
    if prefix == "base.":
        return "seed-simsiam"
    if prefix == "encoder_q.":
        return "moco"
    if prefix == "encoder.":
        return "facebook-simsiam" if proj == "fc" else "encoder"
    if prefix.endswith("backbone."):
        return {"projection_head.layers": "lightly", "projector": "solo-learn"}.get(proj, "backbone")
    return "resnet-under-" + prefix.rstrip(".")


def _pose_head(tensors: Tensors, where: str, seed: bool) -> tuple[heads.Spec, bool, Tensors]:
    """(spec, layernorm, tensors keyed 'norm.*' / 'layers.<i>.*') of a pose head."""
    norm_key = "LN." if seed else "norm."
    norm = {k[len(norm_key):]: v for k, v in tensors.items() if k.startswith(norm_key)}
    layers = {k[len("layers."):]: v for k, v in tensors.items() if k.startswith("layers.")}
    stray = sorted(set(tensors) - {norm_key + k for k in norm} - {"layers." + k for k in layers})
    if stray or not layers:
        raise CheckpointError(f"{where}: not a pose head (keys {sorted(tensors)[:4]})")
    if seed:
        spec, remapped = _named_linears(layers, where)
    else:
        spec, remapped = parse_sequential(layers, where), layers
    out = {f"layers.{k}": v for k, v in remapped.items()}
    out.update({f"norm.{k}": v for k, v in norm.items()})
    return spec, bool(norm), out


def _pose_config(spec: heads.Spec, layernorm: bool, layout: str) -> dict[str, Any]:
    out_dim = heads.spec_out_dim(spec)
    if out_dim % 3:
        raise CheckpointError(f"pose head outputs {out_dim} values, not a multiple of 3 (x, y, z)")
    joints = out_dim // 3 + 1
    return {"head": spec, "num_joints": joints, "skeleton": _SKELETON_BY_JOINTS.get(joints),
            "layernorm": layernorm, "encoder_family": None,
            "pose_scale": 10.0 if layout == "seed-regressor" else 1.0}


def _family(specs: dict[str, Any], prefix: str, method: str) -> str:
    if "pose" in specs:
        return "regressor"
    if "predictor" in specs:
        if "projector" not in specs:
            raise CheckpointError("has a prediction head but no projection head")
        return "simsiam"
    if "projector" in specs:
        return "moco" if prefix == "encoder_q." or "moco" in method else "simclr"
    return "resnet"


@dataclass
class _Found:
    """What :func:`recognise` collects: the remapped tensors, the config, each head's spec and
    the key it came from, and whether the pose head has a LayerNorm."""

    out: Tensors
    cfg: dict[str, Any]
    specs: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    layernorm: bool = False

    def add(self, name: str, spec: Any, source: str, tensors: Tensors, under: str) -> None:
        self.specs[name], self.sources[name] = spec, source
        self.out.update({f"{under}.{k}": v for k, v in tensors.items()})

    def add_pose(self, tensors: Tensors, where: str, source: str, seed: bool) -> None:
        spec, self.layernorm, remapped = _pose_head(tensors, where, seed=seed)
        self.add("pose", spec, source, remapped, "head")


def _take_fc(found: _Found, pick: _Picker, prefix: str, style: str) -> None:
    """The backbone's own ``fc``: a classifier, a projection head or a (seed) pose head."""
    fc = pick.take(prefix + "fc.") if style == "named" else {}
    kind, payload = _fc_head(fc, prefix)
    if kind == "classifier":
        found.out.update({f"encoder.fc.{k}": v for k, v in fc.items()})
        found.cfg["num_classes"] = int(fc["weight"].shape[0])
    elif kind == "projector":
        tensors, source = payload
        found.add("projector", parse_sequential(tensors, f"projection head '{prefix}fc'"), source, tensors,
                  "projector")
    elif kind == "pose":
        found.add_pose(fc, f"regression head '{prefix}fc'", "fc", seed=True)
    elif kind == "unknown":
        pick.used -= {f"{prefix}fc.{k}" for k in fc}


def _take_heads(found: _Found, pick: _Picker, prefix: str, parent: str) -> None:
    """The heads beside the backbone: projector, predictor, and our pose head ``head``."""
    for name, candidates in (("projector", ("projector.", "projection_head.layers.")),
                             ("predictor", ("predictor.", "prediction_head.layers."))):
        for cand in candidates:
            tensors = pick.take(parent + cand)
            if not tensors:
                continue
            if name in found.specs:
                raise CheckpointError(f"holds two {name}s ('{found.sources[name]}' and '{parent + cand}')")
            found.add(name, parse_sequential(tensors, f"'{parent}{cand.rstrip('.')}'"), cand.rstrip("."),
                      tensors, name)
    if prefix == "encoder." and "pose" not in found.specs and (tensors := pick.take(parent + "head.")):
        found.add_pose(tensors, "pose head 'head'", "head", seed=False)


def _configure(found: _Found, family: str, layout: str, notes: list[str]) -> None:
    """The family's config keys from the heads found."""
    if family == "regressor":
        found.cfg.update(_pose_config(found.specs["pose"], found.layernorm, layout))
        if layout == "seed-regressor":
            notes.append("seed regression heads predict CMU Panoptic centimetres: outputs scaled x10 to mm")
    else:
        found.cfg.update({k: found.specs[k] for k in ("projector", "predictor") if k in found.specs})
    if family == "resnet":
        found.cfg.setdefault("num_classes", 0)


def recognise(state: Tensors, hints: dict[str, Any] | None = None) -> Recognised:
    """Recognise a (foreign) state dict; ``hints`` may carry a wrapper's 'arch' and 'method'."""
    hints = hints or {}
    state, notes = strip_wrappers(state)
    prefix, style = _pick_backbone(state, notes)
    pick = _Picker(state)
    backbone = pick.take_backbone(prefix, style)
    arch, width, in_channels = infer_resnet(backbone)
    parts = prefix.rstrip(".").split(".") if prefix else []
    parent = ".".join(parts[:-1]) + "." if len(parts) > 1 else ""
    found = _Found({f"encoder.{k}": v for k, v in backbone.items()}, {"width": width, "in_channels": in_channels})
    _take_fc(found, pick, prefix, style)
    _take_heads(found, pick, prefix, parent)
    layout = _layout_name(prefix, found.sources)
    method = str(hints.get("method") or "").lower()
    family = _family(found.specs, prefix, method)
    _configure(found, family, layout, notes)
    if method:
        notes.append(f"training method recorded in the file: {method}")
    if hints.get("arch") and str(hints["arch"]) != arch:
        notes.append(f"the file says arch '{hints['arch']}' but its tensors are a {arch}")
    ignored, unexpected = pick.leftovers(parent)
    return Recognised(layout, family, arch, found.cfg, found.out, ignored, unexpected, notes)

"""The evaluation protocols papers publish, as one table of named :class:`Protocol` s.

A protocol names what its numbers mean: the joints scored (a named variant of the dataset's joint
set), the root the poses are centred on, the units, the alignment, which frames count, the
thresholds and the groups it breaks the numbers down by. It chooses and groups measures; the
measures themselves are :mod:`hpe_core.metrics`' and :mod:`hpe_core.alignment`'s
(:mod:`.pose3d` for the 3D protocols, :mod:`.coco_oks` for COCO's keypoint AP / AR).

- ``standard``: today's ``hpe evaluate`` (every metric of :mod:`hpe_core.metric_report`);
- ``h36m-p1`` / ``h36m-p2``: Human3.6M's Protocol #1 (MPJPE) / #2 (PA-MPJPE), root-relative at the
  pelvis, per action, on 17, 16 (without the root) or 14 (``common14``) joints;
- ``3dhp``: MPI-INF-3DHP's test kit (``mpii_evaluate_errors.m``): 3DPCK at 150 mm and AUC over
  0, 5, ..., 150 mm on the kit's joint groups (14 joints, or the 17-joint groups in circulation),
  MPJPE over the 17 joints, root-relative at the pelvis, per test sequence and per activity;
- ``3dpw``: MPJPE, PA-MPJPE and the acceleration error on the 14 common joints, pelvis-centred;
- ``coco``: OKS AP / AR over the 10 thresholds 0.50:0.05:0.95, per keypoint and per object size.

:func:`manifest` is what every table scored by a protocol carries beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpe_core.errors import InputError
from hpe_core.protocols.joint_sets import VARIANTS, JointVariant

VERSION = 1  # of the protocol definitions: goes into every manifest

#: measure key -> (label, units; "%" for a fraction shown in percent)
LABELS = {"mpjpe": ("MPJPE", "mm"), "pa_mpjpe": ("PA-MPJPE", "mm"), "pck3d": ("3DPCK@150mm", "%"),
          "auc3d": ("AUC", "%"), "accel": ("Accel", "mm/frame^2"), "accel_s": ("Accel", "mm/s^2"),
          "mpjpe_mean_of_actions": ("MPJPE, mean of actions", "mm"),
          "pa_mpjpe_mean_of_actions": ("PA-MPJPE, mean of actions", "mm"),
          "ap": ("AP", "%"), "ap50": ("AP50", "%"), "ap75": ("AP75", "%"), "ap_medium": ("AP medium", "%"),
          "ap_large": ("AP large", "%"), "ar": ("AR", "%"), "ar50": ("AR50", "%"), "ar75": ("AR75", "%"),
          "ar_medium": ("AR medium", "%"), "ar_large": ("AR large", "%")}
HIGHER_IS_BETTER = frozenset({"pck3d", "auc3d", "ap", "ap50", "ap75", "ap_medium", "ap_large", "ar", "ar50", "ar75",
                              "ar_medium", "ar_large"})


@dataclass(frozen=True)
class Protocol:
    name: str
    title: str
    skeletons: tuple[str, ...]  # the joint sets of the datasets it scores
    joints: tuple[int, ...]  # joint variants (counts), the default first
    root: str
    units: str
    alignment: str
    frame_mask: str
    thresholds: str
    groups: tuple[str, ...]  # dataset labels it breaks the numbers down by
    measures: tuple[str, ...]  # metric keys, the headline first
    dims: int = 3
    gt_column: str = "joints_3d"  # the ground truth's column (the dataset's joints_3d when it lacks it)
    group_titles: tuple[tuple[str, str], ...] = ()  # a group label's name under this protocol

    def group_title(self, label: str) -> str:
        return dict(self.group_titles).get(label, label)

    @property
    def headline(self) -> str:
        """The measure of the protocol's first row."""
        return self.measures[0]

    @property
    def sample_measure(self) -> str:
        """The per-sample error a sample is ranked and coloured by under this protocol (the GUI's
        error column): its PA-MPJPE when that is the headline, else its MPJPE."""
        return "pa_mpjpe" if self.headline == "pa_mpjpe" else "mpjpe"

    def variant(self, joints: int | None, skeleton: str) -> JointVariant | None:
        """The joint variant ``joints`` (default: the first) of this protocol on ``skeleton`` (None for
        ``coco``, which scores the 17 keypoints as they are); InputError when it has no such variant or
        does not score ``skeleton``."""
        if not self.joints:  # standard: the dataset's own joints
            if joints is not None:
                raise InputError(f"--joints {joints}: the protocol {self.name} scores the dataset's own joints")
            return None
        count = self.joints[0] if joints is None else joints
        if count not in self.joints:
            raise InputError(f"--joints {joints}: the protocol {self.name} scores "
                             f"{' or '.join(str(j) for j in self.joints)} joints")
        if skeleton not in self.skeletons:
            raise InputError(f"--protocol {self.name}: scores {' or '.join(self.skeletons)} datasets, "
                             f"this one is {skeleton}")
        return VARIANTS.get((self.name.split("-")[0], skeleton, count))

    def definition(self) -> str:
        """One paragraph: what the numbers mean (a protocol of the dataset's own joints: its title says it)."""
        if not self.joints:
            return self.title
        joints = f"{' | '.join(str(j) for j in self.joints)} (default {self.joints[0]})"
        return (f"{self.title}. Joints: {joints}; "
                f"root: {self.root}; units: {self.units}; alignment: {self.alignment}; frames: {self.frame_mask}; "
                f"thresholds: {self.thresholds}; per {', '.join(self.groups) or 'nothing'}")


_H36M = dict(skeletons=("h36m17",), joints=(17, 16, 14), root="pelvis (Pelvis)", units="mm",
             frame_mask="every selected row", thresholds="none", groups=("action",))
PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("standard", "joints: the dataset's skeleton; MPJPE, N-MPJPE, PCK and AUC root-centred on the "
             "skeleton's root (Protocol #1); PA-MPJPE after a similarity alignment (Protocol #2); mean distance after "
             "a rotation about the root; 3D PCK at 150 mm, AUC over 0-150 mm in 5 mm steps; bone length error: mean "
             "|length difference| over the skeleton's bones; millimetres; 2D: PCK at 0.05 x the ground-truth box, "
             "EPE in pixels",
             skeletons=(), joints=(), root="the skeleton's root", units="mm (2D: px)",
             alignment="none; PA-MPJPE similarity; mean distance rotation", frame_mask="rows with a predicted joint",
             thresholds="PCK: error <= 150 mm; AUC: mean PCK over error <= 0, 5, ..., 150 mm", groups=("action",),
             measures=("mpjpe", "pa_mpjpe")),
    Protocol("h36m-p1", "Human3.6M Protocol #1: MPJPE, root-relative", alignment="none (root-centred)",
             measures=("mpjpe",), **_H36M),
    Protocol("h36m-p2", "Human3.6M Protocol #2: PA-MPJPE, after the best similarity (scale, rotation, translation)",
             alignment="similarity (Procrustes) on the scored joints", measures=("pa_mpjpe",), **_H36M),
    Protocol("3dhp", "MPI-INF-3DHP test kit (mpii_evaluate_errors.m): 3DPCK, AUC and MPJPE", skeletons=("mpi3dhp17",),
             joints=(14, 17), root="pelvis (joint 15 of the kit)", units="mm; PCK and AUC in [0, 1]",
             alignment="none (root-centred)", frame_mask="valid_frame (the kit's), every selected row",
             thresholds="PCK: error < 150 mm; AUC: mean PCK over error < 0, 5, ..., 150 mm (31)",
             groups=("sequence", "action"), measures=("pck3d", "auc3d", "mpjpe"), gt_column="joints_3d_univ",
             group_titles=(("sequence", "test sequence"), ("action", "activity"))),
    Protocol("3dpw", "3DPW: MPJPE, PA-MPJPE and acceleration error on the 14 common joints", skeletons=("smpl24",),
             joints=(14,), root="pelvis (mid-hip of the 14 joints)", units="mm; acceleration mm/frame^2 and mm/s^2",
             alignment="none (pelvis-centred); PA-MPJPE similarity", frame_mask="frames with a valid camera pose "
             "(campose_valid); acceleration over 3 consecutive frames of one actor",
             thresholds="none", groups=("sequence",), measures=("mpjpe", "pa_mpjpe", "accel", "accel_s")),
    Protocol("coco", "COCO keypoints: OKS AP and AR (COCOeval, maxDets 20, 101 recall points)", skeletons=("coco17",),
             joints=(17,), root="none", units="AP / AR in [0, 1]", alignment="none",
             frame_mask="non-crowd people with a labelled keypoint", thresholds="OKS 0.50:0.05:0.95",
             groups=(), measures=("ap", "ap50", "ap75", "ap_medium", "ap_large", "ar", "ar50", "ar75",
                                  "ar_medium", "ar_large"), dims=2),
)}


def sample_errors(name: str, skeleton: str, pred, gt, valid=None):
    """``(label, (N,) errors in mm)`` of each sample by protocol ``name``'s per-sample measure on its
    default joints, or None where it gives none (``standard``: the checkpoint's own measure; ``coco``;
    a dataset of another joint set)."""
    protocol = get_protocol(name)
    if protocol.dims != 3 or skeleton not in protocol.skeletons:
        return None
    from hpe_core.protocols.pose3d import sample_errors as errors

    variant = protocol.variant(None, skeleton)
    label = f"{LABELS[protocol.sample_measure][0]} ({protocol.name}, {variant.count} joints)"
    return label, errors(protocol, variant, pred, gt, valid)


def get_protocol(name: str) -> Protocol:
    """The protocol ``name``; InputError naming the choices otherwise."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise InputError(f"--protocol {name}: unknown protocol; expected one of {', '.join(PROTOCOLS)}") from None


def manifest(protocol: Protocol, variant: JointVariant | None, fingerprint: str, code_version: str,
             extra: dict | None = None) -> dict:
    """What a table scored by ``protocol`` carries beside it (JSON-ready, key order fixed)."""
    return {"protocol": protocol.name, "protocol_version": VERSION,
            "joints": variant.describe() if variant else "the dataset's skeleton",
            "root": protocol.root, "units": protocol.units, "alignment": protocol.alignment,
            "frame_mask": protocol.frame_mask, "thresholds": protocol.thresholds,
            "groups": list(protocol.groups), **(extra or {}),
            "code_version": code_version, "dataset_fingerprint": fingerprint}


def manifest_text(doc: dict) -> str:
    """The manifest as one line (a table's footnote, caption note or CSV comment)."""
    parts = [f"protocol {doc['protocol']} (v{doc['protocol_version']})"]
    parts += [f"{k.replace('_', ' ')}: {v if not isinstance(v, list) else ', '.join(v) or '-'}"
              for k, v in doc.items() if k not in ("protocol", "protocol_version", "dataset_fingerprint")]
    return "; ".join(parts) + f"; dataset fingerprint: sha256 {doc['dataset_fingerprint']}"


__all__ = ["LABELS", "HIGHER_IS_BETTER", "PROTOCOLS", "Protocol", "get_protocol", "manifest", "sample_errors",
           "manifest_text", "JointVariant", "VERSION"]

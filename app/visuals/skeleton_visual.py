"""``SkeletonVisual``: bones as line segments and joints as markers; takes arrays only."""

from __future__ import annotations

import numpy as np
from vispy import scene


def _rgba(colours, n: int, alpha: float) -> np.ndarray:
    c = np.asarray(colours, dtype=np.float32)
    if c.ndim == 1:
        c = np.broadcast_to(c, (n, c.shape[0]))
    if c.shape[1] == 3:
        c = np.concatenate([c, np.full((len(c), 1), alpha, np.float32)], axis=1)
    return np.ascontiguousarray(c, dtype=np.float32)


class SkeletonVisual(scene.Node):
    """One skeleton in a vispy scene.

    ``set_data(joints (J, 3), bones (B, 2) int, joint_colours (J, 3|4), bone_colours (B, 3|4))``;
    joints with a NaN coordinate are not drawn, nor are bones touching them.
    """

    def __init__(self, parent=None, width: float = 4.0, marker_size: float = 9.0, alpha: float = 1.0) -> None:
        super().__init__(parent=parent)
        self.alpha = alpha
        self.marker_size = marker_size
        self._lines = scene.visuals.Line(parent=self, connect="segments", width=width,
                                         method="gl", antialias=True)
        self._markers = scene.visuals.Markers(parent=self, spherical=True, scaling="fixed")
        self._markers.set_gl_state("translucent", depth_test=True)
        self.joints = np.zeros((0, 3), np.float32)
        self.clear()

    def clear(self) -> None:
        self.joints = np.zeros((0, 3), np.float32)
        self._lines.visible = False
        self._markers.visible = False

    def set_data(self, joints, bones, joint_colours=(1.0, 1.0, 1.0), bone_colours=(1.0, 1.0, 1.0)) -> None:
        joints = np.asarray(joints, dtype=np.float32).reshape(-1, 3)
        bones = np.asarray(bones, dtype=np.int64).reshape(-1, 2)
        self.joints = joints
        ok = np.isfinite(joints).all(axis=1)
        if not ok.any():
            self.clear()
            return
        jc = _rgba(joint_colours, len(joints), self.alpha)
        self._markers.set_data(joints[ok], face_color=jc[ok], edge_width=0, size=self.marker_size)
        self._markers.visible = True
        keep = ok[bones[:, 0]] & ok[bones[:, 1]] if len(bones) else np.zeros(0, bool)
        if keep.any():
            bc = _rgba(bone_colours, len(bones), self.alpha)[keep]
            seg = joints[bones[keep]].reshape(-1, 3)
            self._lines.set_data(pos=seg, color=np.repeat(bc, 2, axis=0))
            self._lines.visible = True
        else:
            self._lines.visible = False

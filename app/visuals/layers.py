"""Thin adapters between the parts of :mod:`app.model` and the vispy visuals; they disconnect on close."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from app.model.catalog import Catalog
from app.model.hypotheses import Hypotheses, place_hypotheses
from app.model.sample_data import SampleData
from app.model.sample_feed import SampleFeed
from app.model.view_options import ViewOptions
from app.visuals.floor_visual import FloorVisual
from app.visuals.frustum_visual import FrustumVisual, frustum_segments
from app.visuals.scene_frame import SceneFrame, frame_for_dataset, grounded
from app.visuals.skeleton_visual import SkeletonVisual

HYPOTHESIS_ALPHA = 0.22  # the K sampled hypotheses: faint and thin around the opaque mean
HYPOTHESIS_WIDTH = 1.0
CAMERA_COLOUR = (0.62, 0.68, 0.80, 0.55)
ACTIVE_CAMERA_COLOUR = (1.0, 0.80, 0.25, 1.0)


def light(colours: np.ndarray, amount: float = 0.55) -> np.ndarray:
    """The prediction's palette: the side colours mixed with white."""
    return np.asarray(colours, np.float32) * (1 - amount) + amount


def _to_world(points: np.ndarray | None, camera) -> np.ndarray | None:
    if points is None:
        return None
    if camera is None:
        return points
    return (np.asarray(points, np.float64) - camera.t) @ camera.R


class SkeletonLayer(QObject):
    """Draws the feed's current sample: ground truth and prediction, as the options say."""

    def __init__(self, feed: SampleFeed, options: ViewOptions, scene_parent, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.feed, self.options = feed, options
        self.frame = SceneFrame()
        self.gt = SkeletonVisual(parent=scene_parent, width=4.0, marker_size=10.0)
        self.pred = SkeletonVisual(parent=scene_parent, width=3.0, marker_size=7.0)
        feed.sample_changed.connect(self._on_feed_sample_changed)
        options.events.show_gt.connect(self._on_options_changed)
        options.events.show_pred.connect(self._on_options_changed)

    def set_frame(self, frame: SceneFrame) -> None:
        self.frame = frame
        self._on_feed_sample_changed(self.feed.sample)

    def close(self) -> None:
        self.feed.sample_changed.disconnect(self._on_feed_sample_changed)
        self.options.events.show_gt.disconnect(self._on_options_changed)
        self.options.events.show_pred.disconnect(self._on_options_changed)

    def _on_options_changed(self, _value) -> None:
        self._on_feed_sample_changed(self.feed.sample)

    def _on_feed_sample_changed(self, sample: SampleData | None) -> None:
        opts = self.options
        if sample is None:
            self.gt.clear()
            self.pred.clear()
            return
        sk = sample.skeleton
        gt = self.frame.to_display(_to_world(sample.gt_3d, sample.camera)) if sample.gt_3d is not None else None
        pred = sample.pred_3d
        if pred is not None and gt is not None:
            pred = self.frame.to_display(_to_world(pred, sample.camera))
        elif pred is not None:  # a lone camera-frame pose (video): stand it on the floor
            pred = grounded(SceneFrame().to_display(pred))
        bones = np.asarray(sk.bones, np.int64)
        if gt is not None and opts.show_gt:
            self.gt.set_data(gt, bones, sk.joint_colours, sk.bone_colours)
        else:
            self.gt.clear()
        if pred is not None and opts.show_pred:
            self.pred.set_data(pred, bones, light(sk.joint_colours), light(sk.bone_colours))
        else:
            self.pred.clear()


class HypothesesLayer(QObject):
    """The K sampled hypotheses of the current sample, faint, placed as the mean is (same root,
    same alignment); drawn only with the prediction shown and the set of the sample shown."""

    def __init__(self, feed: SampleFeed, options: ViewOptions, hypotheses: Hypotheses, scene_parent,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.feed, self.options, self.hypotheses = feed, options, hypotheses
        self.scene_parent = scene_parent
        self.frame = SceneFrame()
        self.visuals: list[SkeletonVisual] = []
        feed.sample_changed.connect(self._draw)
        hypotheses.changed.connect(self._draw)
        options.events.show_pred.connect(self._draw)

    def set_frame(self, frame: SceneFrame) -> None:
        self.frame = frame
        self._draw()

    def close(self) -> None:
        self.feed.sample_changed.disconnect(self._draw)
        self.hypotheses.changed.disconnect(self._draw)
        self.options.events.show_pred.disconnect(self._draw)

    @property
    def drawn(self) -> list[SkeletonVisual]:
        """The visuals drawing a hypothesis now."""
        return [v for v in self.visuals if v.joints.size]

    def _draw(self, *_args) -> None:
        sample, hyps = self.feed.sample, self.hypotheses.current
        placed = None
        if sample is not None and hyps is not None and hyps.index == sample.index and self.options.show_pred:
            placed = place_hypotheses(hyps, sample.gt_3d, sample.skeleton.root, self.options.align)
        if placed is None:
            for v in self.visuals:
                v.clear()
            return
        while len(self.visuals) < len(placed):
            self.visuals.append(SkeletonVisual(parent=self.scene_parent, width=HYPOTHESIS_WIDTH, marker_size=3.0,
                                               alpha=HYPOTHESIS_ALPHA))
        sk = sample.skeleton
        bones = np.asarray(sk.bones, np.int64)
        colours = light(sk.joint_colours), light(sk.bone_colours)
        for k, v in enumerate(self.visuals):
            if k < len(placed):
                v.set_data(self.frame.to_display(_to_world(placed[k], sample.camera)), bones, *colours)
            else:
                v.clear()


class CameraLayer(QObject):
    """The current dataset's camera frustums (the sample's camera highlighted) and the floor; its
    owner calls :meth:`set_dataset` when the current dataset changes."""

    def __init__(self, catalog: Catalog, feed: SampleFeed, options: ViewOptions, scene_parent,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.feed, self.options = catalog, feed, options
        self.frame = SceneFrame()
        self.floor = FloorVisual(parent=scene_parent)
        self.frustums = FrustumVisual(parent=scene_parent)
        self._segments: dict[int, np.ndarray] = {}
        self._active = None
        feed.sample_changed.connect(self._on_feed_sample_changed)
        options.events.frustums.connect(self._on_options_frustums)

    def close(self) -> None:
        self.feed.sample_changed.disconnect(self._on_feed_sample_changed)
        self.options.events.frustums.disconnect(self._on_options_frustums)

    def set_dataset(self, ds) -> None:
        """Frame the scene for ``ds`` (or none): floor, frustums, the display frame."""
        self.frame = SceneFrame() if ds is None else frame_for_dataset(ds)
        self.floor.set_data(self.frame.extent, 500.0 if self.frame.extent > 1500 else 250.0)
        self._segments = {}
        depth = max(self.frame.extent * 0.12, 150.0)
        for cid, cam in ((getattr(ds, "cameras", None) or {}) if ds is not None else {}).items():
            seg = frustum_segments(cam.K, cam.R, cam.t, cam.width, cam.height, depth)
            self._segments[int(cid)] = self.frame.to_display(seg).astype(np.float32)
        self._draw()

    def _on_feed_sample_changed(self, sample) -> None:
        cam = None if sample is None else sample.camera
        active = None
        ds = self.catalog.dataset
        if cam is not None and ds is not None and ds.camera_id is not None and sample.index >= 0:
            active = int(ds.camera_id[sample.index])
        if active != self._active:
            self._active = active
            self._draw()

    def _on_options_frustums(self, _value) -> None:
        self._draw()

    def _draw(self) -> None:
        show = self.options.frustums
        if not show or not self._segments:
            self.frustums.set_data(np.zeros((0, 3)), np.zeros((0, 4)))
            return
        segs, cols = [], []
        for cid, seg in self._segments.items():
            segs.append(seg)
            colour = ACTIVE_CAMERA_COLOUR if cid == self._active else CAMERA_COLOUR
            cols.append(np.tile(np.asarray(colour, np.float32), (len(seg), 1)))
        self.frustums.set_data(np.concatenate(segs), np.concatenate(cols))

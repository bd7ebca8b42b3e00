"""The 3D view: vispy canvas with the skeletons, floor and camera frustums; orbit/pan/zoom."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox,
                               QVBoxLayout, QWidget)

from app.model.catalog import Catalog
from app.model.hypotheses import Hypotheses
from app.model.sample_feed import SampleFeed
from app.model.view_options import ALIGN_MODES, ViewOptions
from app.visuals.binding import bind
from app.visuals.layers import CameraLayer, HypothesesLayer, SkeletonLayer

ALIGN_LABELS = {"none": "Unaligned", "rigid": "Rigid (R, t)", "similarity": "Procrustes (s, R, t)"}


def align_combo(tip: str) -> QComboBox:
    """The alignment control (one entry per mode of ``ALIGN_MODES``, data: the mode), shared by
    the 3D view and Compare's 3D view."""
    combo = QComboBox(toolTip=tip)
    for mode in ALIGN_MODES:
        combo.addItem(ALIGN_LABELS[mode], mode)
    return combo


def make_canvas(size=(800, 600)):
    """A vispy ``SceneCanvas`` on the PySide6 backend with one turntable view."""
    import vispy

    vispy.use("pyside6")
    from vispy import scene

    canvas = scene.SceneCanvas(keys=None, size=size, bgcolor=(0.11, 0.12, 0.15, 1.0), show=False)
    view = canvas.central_widget.add_view()
    view.camera = scene.TurntableCamera(up="+z", fov=40.0, elevation=18.0, azimuth=-35.0)
    return canvas, view


class SceneView(QWidget):
    """Hosts the canvas and its controls; the layers follow the catalog, the feed and the options."""

    def __init__(self, catalog: Catalog, feed: SampleFeed, options: ViewOptions, hypotheses: Hypotheses | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.options = catalog, options
        self._warm = False
        self.canvas, self.view = make_canvas()
        self.cameras = CameraLayer(catalog, feed, options, self.view.scene, self)
        self.skeletons = SkeletonLayer(feed, options, self.view.scene, self)
        self.hypotheses = (None if hypotheses is None
                           else HypothesesLayer(feed, options, hypotheses, self.view.scene, self))
        self._build_controls()
        self._layout()
        self._wire(catalog, feed)
        self.reset_camera()

    def _build_controls(self) -> None:
        self.k = QSpinBox(minimum=0, maximum=50, value=int(self.options.hypotheses), prefix="K ", visible=False,
                          toolTip="Sampled hypotheses drawn faintly around the mean (a VAE lifter); 0: none")
        self.align = align_combo("Align the prediction to the ground truth before drawing (A)")
        self.frustums = QCheckBox("Cameras", toolTip="Show the dataset's camera frustums (F)", checked=True)
        self.show_gt = QCheckBox("GT", toolTip="Show the ground truth", checked=True)
        self.show_pred = QCheckBox("Prediction", toolTip="Show the prediction", checked=True)
        self.reset = QPushButton("Reset", toolTip="Reset the 3D camera (R)")
        self.source = QLabel("")  # what made the predicted pose (e.g. a lifter, lifting which 2D)
        self.source.setObjectName("sceneSource")
        self.source.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.align, self.frustums, self.show_gt, self.show_pred, self.k):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.reset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.source)
        layout.addWidget(self.canvas.native, 1)

    def _wire(self, catalog: Catalog, feed: SampleFeed) -> None:
        options = self.options
        self.align.activated.connect(lambda _i: setattr(options, "align", self.align.currentData()))
        for box, name in ((self.frustums, "frustums"), (self.show_gt, "show_gt"), (self.show_pred, "show_pred")):
            box.toggled.connect(lambda on, name=name: setattr(options, name, on))
        self.reset.clicked.connect(self.reset_camera)
        self.k.valueChanged.connect(lambda k: setattr(options, "hypotheses", int(k)))
        bind(catalog.active_checkpoint_changed, self._on_catalog_checkpoint_changed, self)
        bind(options.events, self._on_options_changed, self)
        bind(catalog.current_dataset_changed, self._on_catalog_dataset_changed, self)
        bind(feed.sample_changed, self._on_feed_sample_changed, self)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._warm:
            self._warm = True
            QTimer.singleShot(0, self.prewarm)

    def prewarm(self) -> None:
        """Compile every visual's shaders now (tens of ms each on software OpenGL), so that the
        first prediction drawn during a job does not stall the event loop."""
        from hpe_core.skeleton import PANOPTIC19

        visuals = (self.skeletons.gt, self.skeletons.pred)
        if any(v.joints.size for v in visuals):
            return
        dummy = np.zeros((PANOPTIC19.num_joints, 3))
        dummy[:, 2] = np.arange(PANOPTIC19.num_joints) * 50.0
        for v in visuals:
            v.set_data(dummy, PANOPTIC19.bones, PANOPTIC19.joint_colours, PANOPTIC19.bone_colours)
        try:
            self.canvas.render(size=(32, 32))
        except Exception:  # no usable OpenGL yet: the shaders compile on the first real draw
            pass
        for v in visuals:
            if v.joints is not None and v.joints.shape == dummy.shape and np.array_equal(v.joints, dummy):
                v.clear()

    def _on_catalog_dataset_changed(self, entry) -> None:
        self.cameras.set_dataset(None if entry is None else entry.dataset)  # one slot, in this order
        self.skeletons.set_frame(self.cameras.frame)
        if self.hypotheses is not None:
            self.hypotheses.set_frame(self.cameras.frame)
        self.reset_camera()

    def _on_feed_sample_changed(self, sample) -> None:
        made_by = "" if sample is None or sample.pred_3d is None else sample.source
        self.source.setText(f"Prediction: {made_by}" if made_by else "")
        self.canvas.update()

    def _on_options_changed(self, *_info) -> None:
        o = self.options
        for box, on in ((self.frustums, o.frustums), (self.show_gt, o.show_gt), (self.show_pred, o.show_pred)):
            box.blockSignals(True)
            box.setChecked(bool(on))
            box.blockSignals(False)
        self.align.setCurrentIndex(max(self.align.findData(o.align), 0))
        self.k.blockSignals(True)
        self.k.setValue(int(o.hypotheses))
        self.k.blockSignals(False)
        self.canvas.update()

    def _on_catalog_checkpoint_changed(self, loaded) -> None:
        from app.workers.hypotheses import samples_hypotheses

        self.k.setVisible(self.hypotheses is not None and samples_hypotheses(loaded))

    def reset_camera(self) -> None:
        """Look at the action from a raised three-quarter view that fits the scene."""
        cam = self.view.camera
        ds = self.catalog.dataset
        posed = ds is not None and ds.joints_3d is not None  # a video has no scene: frame one person
        cam.center = (0.0, 0.0, 900.0)
        cam.elevation, cam.azimuth = 18.0, -35.0
        cam.distance = float(np.clip(self.cameras.frame.extent * 1.4, 4000.0, 30000.0)) if posed else 4200.0
        cam.view_changed()
        self.canvas.update()

    def cycle_align(self) -> None:
        modes = list(ALIGN_MODES)
        self.options.align = modes[(modes.index(self.options.align) + 1) % len(modes)]

    def render(self, size=None) -> np.ndarray:
        """``(H, W, 4)`` uint8 of the current scene (for tests and screenshots)."""
        return self.canvas.render(size=size)

    # ------------------------------------------------------------------ figure export
    def legend_entries(self) -> list:
        from app.export.scene3d import skeleton_legend
        from app.visuals.layers import light

        return skeleton_legend(bool(self.skeletons.gt.joints.size), bool(self.skeletons.pred.joints.size), light)

    def paint_figure(self, painter, width: int, height: int, paper: bool = True) -> None:
        """The 3D view as a figure (offscreen, ``width`` x ``height``, framed to the skeletons)."""
        from app.export.scene3d import paint_3d

        shown = [v.joints for v in (self.skeletons.gt, self.skeletons.pred) if v.joints.size]
        points = np.concatenate(shown) if shown else None
        paint_3d(painter, self.canvas, self.view, width, height, paper, points, self.legend_entries())

    def closeEvent(self, event) -> None:
        self.skeletons.close()
        if self.hypotheses is not None:
            self.hypotheses.close()
        self.cameras.close()
        super().closeEvent(event)

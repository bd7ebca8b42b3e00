"""Panels of the side-by-side comparison: the metrics table, the CKA heatmap, both models'
predictions in one 3D view, and both conv1 grids. Arrays and results in; nothing computed."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.visuals.palettes import sequential_lut

MODEL_COLOURS = {"gt": (0.92, 0.92, 0.92), "a": (0.30, 0.55, 0.96), "b": (0.96, 0.60, 0.15)}
PAPER_COLOURS = {**MODEL_COLOURS, "gt": (0.25, 0.25, 0.25)}  # ground truth on a white page
LAYER_ORDER = ("conv1", "layer1", "layer2", "layer3", "layer4", "encoder", "projection", "prediction")
SHORT = {"conv1": "c1", "layer1": "L1", "layer2": "L2", "layer3": "L3", "layer4": "L4", "encoder": "enc",
         "projection": "proj", "prediction": "pred"}


LABEL_TITLES = {"action": "action", "camera": "camera", "subject": "subject", "pose_id": "pose"}
POSE_METRICS = (("mpjpe", "MPJPE (mm)"), ("pa_mpjpe", "PA-MPJPE (mm)"), ("mean_distance", "mean distance (mm)"))


def _difference(a, b):
    """A − B of two numbers, else None."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return a - b if numbers else None


def metric_rows(result, layer: str | None = None) -> list[list]:
    """``[[metric, A, B, A − B], ...]`` of a CompareResult: the error measure and pose metrics (the
    measure first), silhouettes of the clusters per layer, of the dataset's labels (``layer``, else
    every layer), the collapse check per layer, retrieval."""
    rows: list[list] = [["samples", result.samples, result.samples]]
    rows += _pose_rows(result) + _silhouette_rows(result, layer) + _collapse_rows(result) + _retrieval_rows(result)
    rows = [row + [_difference(row[1], row[2])] for row in rows] + health_rows(result, layer)
    rows[0][3] = None  # the same samples for both
    return rows


HEALTH_LAYERS = ("encoder", "projection", "prediction")  # the health rows' layers when none is chosen


def health_rows(result, layer: str | None = None) -> list[list]:
    """``[[measure · layer, A, B, A − B], ...]`` of the health measures (hpe_core.analysis.health; A − B
    as the core computed it) of ``layer``, else of the embedding layers both models have."""
    from hpe_core.analysis.health import MEASURES

    health = getattr(result, "health", {}) or {}
    diff = health.get("a_minus_b", {})
    names = [layer] if layer in diff else [n for n in HEALTH_LAYERS if n in diff]
    return [[f"{title} · {name}", health["a"][name].get(m), health["b"][name].get(m), diff[name].get(m)]
            for name in names for m, title in MEASURES.items()]


def _pose_rows(result) -> list[list]:
    """The error measure of each checkpoint, then the pose metrics, that measure first."""
    if not result.metrics:
        return []
    measures = getattr(result, "error_measure", {}) or {}
    rows = [["error measure (per checkpoint)", measures.get("a"), measures.get("b")]] if measures else []
    first = {"PA-MPJPE": "pa_mpjpe", "MPJPE": "mpjpe"}.get(measures.get("a"), "mpjpe")
    for key, label in sorted(POSE_METRICS, key=lambda kv: kv[0] != first):
        rows.append([label, result.metrics["a"].get(key), result.metrics["b"].get(key)])
    return rows


def _silhouette_rows(result, layer: str | None) -> list[list]:
    """The clusters' silhouette per layer, then the labels' (of ``layer``, else of every layer)."""
    sil_a, sil_b = result.silhouette.get("a", {}), result.silhouette.get("b", {})
    rows = [[f"silhouette · {name}", sil_a.get(name), sil_b.get(name)]
            for name in LAYER_ORDER if name in sil_a or name in sil_b]
    labels = getattr(result, "label_silhouette", {}) or {}
    la, lb = labels.get("a", {}), labels.get("b", {})
    for name in [n for n in LAYER_ORDER if (n in la or n in lb) and (layer is None or n == layer)]:
        for label, title in LABEL_TITLES.items():
            a, b = (la.get(name) or {}).get(label), (lb.get(name) or {}).get(label)
            if a is not None or b is not None:
                rows.append([f"silhouette of {title} labels · {name}", a, b])
    return rows


def _collapse_rows(result) -> list[list]:
    """The feature spread and effective rank per layer, then the collapsed layers."""
    collapse = getattr(result, "collapse", {}) or {}
    ca, cb = collapse.get("a", {}), collapse.get("b", {})
    names = [n for n in LAYER_ORDER if n in ca or n in cb]
    rows = []
    for name in names:
        rows.append([f"feature spread (of isotropic) · {name}", (ca.get(name) or {}).get("spread_ratio"),
                     (cb.get(name) or {}).get("spread_ratio")])
        rows.append([f"effective rank · {name}", (ca.get(name) or {}).get("effective_rank"),
                     (cb.get(name) or {}).get("effective_rank")])
    if names:
        rows.append(["collapsed layers"] + [", ".join(n for n, c in side.items() if c.get("collapsed")) or "none"
                                            for side in (ca, cb)])
    return rows


def _retrieval_rows(result) -> list[list]:
    """Cross-view retrieval top-1 and top-5 per layer, then their chance levels."""
    if not result.retrieval:
        return []
    ra, rb = result.retrieval["a"], result.retrieval["b"]
    rows = []
    for name in [n for n in LAYER_ORDER if n in ra or n in rb]:
        for k in ("top1", "top5"):
            rows.append([f"retrieval {k[:3]}-{k[3:]} · {name}", (ra.get(name) or {}).get(k),
                         (rb.get(name) or {}).get(k)])
    first = next(iter(ra.values()))
    rows.append(["retrieval chance top-1 / top-5", f"{first['chance_top1']:.3f} / {first['chance_top5']:.3f}", ""])
    return rows


def collapse_warnings(result, names: dict[str, str]) -> list[str]:
    """One line per collapsed layer of A or B (feature spread near zero or effective rank ~1)."""
    lines = []
    for key, layers in (getattr(result, "collapse", {}) or {}).items():
        for layer, c in layers.items():
            if c.get("collapsed"):
                lines.append(f"{key.upper()}: {names.get(key, key)} · {layer} looks collapsed: feature spread "
                             f"{c['spread_ratio']:.3f} of isotropic, effective rank {c['effective_rank']:.1f} "
                             f"of {c['dims']}")
    return lines


def _signed(value) -> str:
    if value is None:
        return ""
    return f"{value:+.1f}" if abs(value) >= 10 else f"{value:+.4f}"


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


class MetricsTable(QTableWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(0, 4, parent)
        self.setHorizontalHeaderLabels(["metric", "A", "B", "A − B"])
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.rows: list[list] = []

    def set_result(self, result, name_a: str, name_b: str, layer: str | None = None) -> None:
        """The rows of ``result``; the columns are headed A and B (narrow: the table fits beside the
        plots), the checkpoints' names in the headers' tooltips."""
        for c, tip in ((1, f"A: {name_a}"), (2, f"B: {name_b}"), (3, f"A: {name_a} − B: {name_b}")):
            self.horizontalHeaderItem(c).setToolTip(tip)
        self.rows = metric_rows(result, layer)
        self.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(_signed(value) if c == 3 else _text(value) if c else str(value))
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        self.resizeColumnsToContents()

    def clear_result(self) -> None:
        self.rows = []
        self.setRowCount(0)

    def needed_width(self) -> int:
        """The width that shows every column whole (header, cells, the vertical scroll bar)."""
        columns = sum(self.columnWidth(c) for c in range(self.columnCount()))
        return columns + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth() + 2


class CkaHeatmap(pg.GraphicsLayoutWidget):
    """Linear CKA of every layer of A (rows) against every layer of B (columns), with values."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground(None)
        self.plot = self.addPlot(row=0, col=0, title="linear CKA")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.ColorMap(np.linspace(0, 1, 256), sequential_lut()),
                                   interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.texts: list[pg.TextItem] = []
        self.matrix = np.zeros((0, 0))
        self.plot.vb.sigResized.connect(self._fit_values)  # on screen and when an export lays it out anew

    def set_data(self, names_a: list[str], names_b: list[str], matrix: np.ndarray, label_a: str = "A",
                 label_b: str = "B") -> None:
        for t in self.texts:
            self.plot.removeItem(t)
        self.texts = []
        self.matrix = np.asarray(matrix, np.float64)
        self.image.setImage(self.matrix, autoLevels=False, levels=(0.0, 1.0))
        self.plot.getAxis("bottom").setTicks([[(j + 0.5, SHORT.get(n, n)) for j, n in enumerate(names_b)]])
        self.plot.getAxis("left").setTicks([[(i + 0.5, n) for i, n in enumerate(names_a)]])
        self.plot.setLabel("bottom", label_b)
        self.plot.setLabel("left", label_a)
        for i in range(self.matrix.shape[0]):
            for j in range(self.matrix.shape[1]):
                v = self.matrix[i, j]
                t = pg.TextItem(f"{v:.2f}", anchor=(0.5, 0.5), color=(20, 20, 20) if v > 0.6 else (235, 235, 235))
                t.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(t)
                self.texts.append(t)
        self.plot.autoRange(padding=0.0)
        self._fit_values()

    def _fit_values(self, *_args) -> None:
        """Write the values only in cells wide and tall enough for them (never run together)."""
        if not self.texts:
            return
        cell = self.plot.vb.mapViewToDevice(pg.QtCore.QRectF(0, 0, 1, 1))
        cell = cell.boundingRect() if cell is not None else None
        text = self.texts[0].textItem.boundingRect()
        fits = cell is not None and cell.width() >= text.width() + 2 and cell.height() >= text.height() - 4
        for t in self.texts:
            t.setVisible(fits)


class PosePairView(QWidget):
    """Ground truth and the predictions of A and B for one sample, in one vispy 3D view; ``align``
    is the 3D view's alignment control (the caller places the predictions by it)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        from vispy import scene

        from app.views.scene_view import align_combo, make_canvas
        from app.visuals.floor_visual import FloorVisual
        from app.visuals.skeleton_visual import SkeletonVisual

        self.canvas, self.view = make_canvas((480, 400))
        self.view.camera = scene.TurntableCamera(up="+z", fov=40.0, elevation=15.0, azimuth=-35.0, distance=4200.0)
        self.view.camera.center = (0.0, 0.0, 850.0)
        self.floor = FloorVisual(parent=self.view.scene)
        self.floor.set_data(1500.0, 250.0)
        self.skeletons = {key: SkeletonVisual(parent=self.view.scene, width=4.0 if key == "gt" else 3.0,
                                              marker_size=9.0 if key == "gt" else 7.0) for key in MODEL_COLOURS}
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        self.align = align_combo("Align both predictions to the ground truth before drawing them (as the 3D view)")
        self._last = None  # (skeleton, poses, names) last drawn
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Align"))
        top.addWidget(self.align)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.canvas.native, 1)
        layout.addWidget(self.legend)

    def set_poses(self, skeleton, poses: dict[str, np.ndarray | None], names: dict[str, str],
                  colours: dict | None = None) -> None:
        """``poses``: {"gt", "a", "b"} -> (J, 3) root-relative camera-frame mm (None: hidden)."""
        from app.visuals.scene_frame import SceneFrame

        self._last = (skeleton, poses, names)
        colours = colours or MODEL_COLOURS

        frame = SceneFrame()
        shown = {k: frame.to_display(v) for k, v in poses.items() if v is not None}
        floor = min((np.nanmin(v[:, 2]) for v in shown.values()), default=0.0)
        bones = np.asarray(skeleton.bones, np.int64)
        for key, visual in self.skeletons.items():
            if key in shown:
                pts = shown[key] - np.array([0.0, 0.0, floor])
                colour = np.asarray(colours[key], np.float32)
                visual.set_data(pts, bones, np.tile(colour, (len(pts), 1)), np.tile(colour, (len(bones), 1)))
            else:
                visual.clear()
        parts = []
        for key in ("gt", "a", "b"):
            if key in shown:  # the ground truth's light grey is unreadable on a light window: a grey marker
                rgb = "150,150,150" if key == "gt" else ",".join(str(int(c * 255)) for c in MODEL_COLOURS[key])
                name = names.get(key, key)
                text = name if key == "gt" else f'<span style="color: rgb({rgb})">{name}</span>'
                parts.append(f'<span style="color: rgb({rgb})">■</span> {text}')
        self.legend.setText("  ".join(parts))
        self.canvas.update()

    def render(self, size=None) -> np.ndarray:
        return self.canvas.render(size=size)

    def legend_entries(self, paper: bool = True) -> list:
        from app.export.scene3d import rgb255

        if self._last is None:
            return []
        _, poses, names = self._last
        colours = PAPER_COLOURS if paper else MODEL_COLOURS
        return [(names.get(k, k), rgb255(colours[k])) for k in ("gt", "a", "b") if poses.get(k) is not None]

    def paint_figure(self, painter, width: int, height: int, paper: bool = True) -> None:
        """Both predictions and the ground truth as a figure: offscreen, framed, with a legend."""
        from app.export.scene3d import paint_3d

        if self._last is not None and paper:
            self.set_poses(*self._last, colours=PAPER_COLOURS)  # a light-grey ground truth vanishes on white
        try:
            shown = [v.joints for v in self.skeletons.values() if v.joints.size]
            paint_3d(painter, self.canvas, self.view, width, height, paper,
                     np.concatenate(shown) if shown else None, self.legend_entries(paper))
        finally:
            if self._last is not None and paper:
                self.set_poses(*self._last)


class Conv1Pair(pg.GraphicsLayoutWidget):
    """Both checkpoints' conv1 filters as ``hpe kernels --out`` draws them (RGB, own range each)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground(None)
        self.titles, self.images, self.boxes = [], [], []
        for col in range(2):
            self.titles.append(self.addLabel("", row=0, col=col, size="9pt"))
            box = self.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMenu=False)
            image = pg.ImageItem(axisOrder="row-major")
            box.addItem(image)
            self.boxes.append(box)
            self.images.append(image)

    def set_kernels(self, bundles: dict, names: dict[str, str]) -> None:
        from hpe_core.analysis import kernel_grid

        for col, key in enumerate(("a", "b")):
            report = bundles[key].report
            mode = "rgb" if report.weights.shape[1] == 3 else "channels"
            self.images[col].setImage(kernel_grid(report.weights, mode), autoLevels=False, levels=(0, 255))
            self.boxes[col].autoRange(padding=0.01)
            counts = [f"{v} {k}" for k, v in report.counts().items() if v]
            lines = [", ".join(counts[i:i + 2]) for i in range(0, len(counts), 2)]  # two a line: fits a half
            self.titles[col].setText("<br>".join([f"{key.upper()}: {names.get(key, key)}", *lines]))

"""``Scatter3D``: a vispy point cloud for 3D projections; orbit with the mouse, hover a point.

Model-free like :class:`~app.visuals.scatter_plot.ScatterPlot`: positions, the dataset index of
each row and colour codes in; ``hovered(index)`` out. Hover projects the points to the canvas
with the visual's transform (one matrix product) at most once per frame.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.visuals.point_cloud_item import UNKNOWN

HOVER_RADIUS_PX = 8.0


class Scatter3D(QWidget):
    hovered = Signal(int)

    def __init__(self, parent: QWidget | None = None, point_size: float = 6.0) -> None:
        super().__init__(parent)
        from vispy import scene

        from app.views.scene_view import make_canvas

        self.canvas, self.view = make_canvas((640, 480))
        self.view.camera = scene.TurntableCamera(fov=35.0, elevation=20.0, azimuth=30.0)
        self.markers = scene.visuals.Markers(parent=self.view.scene, scaling="fixed")
        self.markers.set_gl_state("translucent", depth_test=True)
        self.hover_marker = scene.visuals.Markers(parent=self.view.scene, scaling="fixed")
        self.hover_marker.set_gl_state("translucent", depth_test=False)
        self.axes = scene.visuals.XYZAxis(parent=self.view.scene, width=2)
        self.point_size = point_size
        self.legend: list = []
        self.xyz = np.zeros((0, 3), np.float32)
        self.indices = np.zeros(0, np.int64)
        self.colours = np.zeros((0, 4), np.float32)
        self.hover_index = -1
        self._mouse = None
        self._hover_timer = QTimer(self, singleShot=True, interval=16)
        self._hover_timer.timeout.connect(self._update_hover)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas.native)
        self.canvas.events.mouse_move.connect(self._on_canvas_mouse_move)

    def set_data(self, xyz: np.ndarray, indices: np.ndarray) -> None:
        """Positions (N, 3) (centred and scaled to a unit cube for the camera) and indices (N,)."""
        xyz = np.asarray(xyz, np.float64).reshape(-1, 3)
        if len(xyz) != len(indices):
            raise ValueError(f"{len(xyz)} points but {len(indices)} indices")
        if len(xyz):
            centre = np.nanmean(xyz, axis=0)
            scale = float(np.nanmax(np.abs(xyz - centre))) or 1.0
            xyz = (xyz - centre) / scale
        self.xyz = np.ascontiguousarray(xyz, np.float32)
        self.indices = np.asarray(indices, np.int64).reshape(-1)
        if len(self.colours) != len(self.xyz):
            self.colours = np.tile(np.asarray(UNKNOWN, np.float32) / 255, (len(self.xyz), 1))
        self._push()
        self.view.camera.set_range(x=(-1, 1), y=(-1, 1), z=(-1, 1))
        self.show_hover(-1)

    def set_colours(self, codes: np.ndarray, palette: np.ndarray, legend: list | None = None) -> None:
        self.legend = list(legend or [])  # (name, rgba) entries, drawn beside an exported figure
        codes = np.asarray(codes, np.int64).reshape(-1)
        table = np.vstack([np.asarray(palette, np.float32).reshape(-1, 4), np.asarray(UNKNOWN, np.float32)]) / 255
        self.colours = table[np.where((codes >= 0) & (codes < len(table) - 1), codes, len(table) - 1)]
        self._push()

    def _push(self) -> None:
        if len(self.xyz):
            self.markers.set_data(self.xyz, face_color=self.colours, edge_width=0, size=self.point_size)
            self.markers.visible = True
        else:
            self.markers.visible = False
        self.canvas.update()

    def show_hover(self, index: int) -> None:
        self.hover_index = int(index)
        rows = np.flatnonzero(self.indices == index) if index >= 0 else []
        if len(rows):
            self.hover_marker.set_data(self.xyz[rows[:1]], face_color=(0, 0, 0, 0), edge_color=(1.0, 0.86, 0.3, 1.0),
                                       edge_width=2.5, size=16)
            self.hover_marker.visible = True
        else:
            self.hover_marker.visible = False
        self.canvas.update()

    def screen_positions(self) -> np.ndarray:
        """(N, 2) canvas pixel positions of the points for the current camera."""
        if not len(self.xyz):
            return np.zeros((0, 2))
        tr = self.markers.get_transform("visual", "canvas")
        mapped = np.asarray(tr.map(self.xyz))
        return mapped[:, :2] / mapped[:, 3:4]

    def row_at(self, x: float, y: float, radius_px: float = HOVER_RADIUS_PX) -> int:
        pos = self.screen_positions()
        if not len(pos):
            return -1
        d = np.hypot(pos[:, 0] - x, pos[:, 1] - y)
        best = int(np.nanargmin(d))
        return best if d[best] <= radius_px else -1

    def render(self, size=None) -> np.ndarray:
        """(H, W, 4) uint8 image of the cloud (``size`` = (width, height) for export)."""
        return self.canvas.render(size=size)

    def legend_entries(self) -> list:
        return list(self.legend)

    def paint_figure(self, painter, width: int, height: int, paper: bool = True) -> None:
        """The cloud as a figure: offscreen at ``width`` x ``height``, framed, its legend below."""
        from app.export.scene3d import paint_3d

        hover = self.hover_marker.visible
        self.axes.visible = self.hover_marker.visible = False  # unit ticks mean nothing; the pointer is not data
        try:
            paint_3d(painter, self.canvas, self.view, width, height, paper, self.xyz if len(self.xyz) else None,
                     self.legend_entries())
        finally:
            self.axes.visible, self.hover_marker.visible = True, hover

    def _on_canvas_mouse_move(self, event) -> None:
        if event.button is None and not event.is_dragging:
            self._mouse = event.pos
            if not self._hover_timer.isActive():
                self._hover_timer.start()

    def _update_hover(self) -> None:
        if self._mouse is None:
            return
        row = self.row_at(float(self._mouse[0]), float(self._mouse[1]))
        index = int(self.indices[row]) if row >= 0 else -1
        if index != self.hover_index:
            self.show_hover(index)
            self.hovered.emit(index)

    def close(self) -> bool:
        self._hover_timer.stop()
        return super().close()

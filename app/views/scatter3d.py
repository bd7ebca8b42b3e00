"""``Scatter3D``: a vispy point cloud for 3D projections; orbit with the mouse, hover a point.

Model-free like :class:`~app.visuals.scatter_plot.ScatterPlot`: positions, the dataset index of
each row and colour codes in; ``hovered(index)`` out. Hover projects the points to the canvas
with the visual's transform (one matrix product) at most once per frame.

On software OpenGL (llvmpipe and the like: a million point sprites take a second a frame) with
more than :data:`~app.visuals.point_cloud_item.POINTS_LIMIT` points, the cloud is drawn as a
density image of the canvas's pixels instead (:func:`app.visuals.density.density_image` with the
view's projection), redrawn when the camera moves; ``mode`` says which. Axis labels name the
projection's axes; the legend lists every class in the figure (:meth:`legend_entries`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.visuals.density import density_image
from app.visuals.point_cloud_item import POINTS_LIMIT, UNKNOWN

HOVER_RADIUS_PX = 8.0


class Scatter3D(QWidget):
    hovered = Signal(int)

    def __init__(self, parent: QWidget | None = None, point_size: float = 6.0,
                 points_limit: int = POINTS_LIMIT, software_gl: bool | None = None) -> None:
        """``software_gl``: None asks the driver once the canvas exists (True: density past the limit)."""
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
        self._build_overlays(scene, points_limit, software_gl)
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

    def _build_overlays(self, scene, points_limit: int, software_gl: bool | None) -> None:
        """The density image (in canvas pixels), the axis labels and the on-canvas legend."""
        self.density = scene.visuals.Image(parent=self.canvas.scene, method="subdivide")  # canvas pixels
        self.density.set_gl_state("translucent", depth_test=False)
        self.density.order = 10
        self.density.visible = False
        self.points_limit, self._software = int(points_limit), software_gl
        self.mode = "points"
        self.codes = np.zeros(0, np.int64)
        self.palette = np.zeros((0, 4), np.uint8)
        self._redraw = QTimer(self, singleShot=True, interval=0)
        self._redraw.timeout.connect(self._draw_density)
        self.view.scene.transform.changed.connect(lambda _event: self._on_view_changed())
        self.canvas.events.draw.connect(self._on_canvas_draw)
        self._screen: tuple[bytes, np.ndarray] | None = None  # (projection, canvas positions) for hover
        self.axis_names = ("", "", "")
        self.axis_labels = [scene.visuals.Text("", parent=self.view.scene, color=(0.85, 0.87, 0.9, 1.0),
                                               font_size=9, anchor_x="left") for _ in range(3)]
        for label, end in zip(self.axis_labels, np.eye(3) * 1.08):
            label.pos = end
        self.legend_text = scene.visuals.Text("", parent=self.canvas.scene, color=(0.9, 0.9, 0.92, 1.0),
                                              font_size=8, anchor_x="left", anchor_y="center", pos=(10, 16))

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
        self._screen = None
        self.indices = np.asarray(indices, np.int64).reshape(-1)
        if len(self.colours) != len(self.xyz):
            self.colours = np.tile(np.asarray(UNKNOWN, np.float32) / 255, (len(self.xyz), 1))
            self.codes = np.full(len(self.xyz), -1, np.int64)
        self._push()
        self.view.camera.set_range(x=(-1, 1), y=(-1, 1), z=(-1, 1))
        self.show_hover(-1)

    def set_colours(self, codes: np.ndarray, palette: np.ndarray, legend: list | None = None) -> None:
        self.legend = list(legend or [])  # (name, rgba) entries, on the canvas and beside an exported figure
        self._show_legend()
        codes = np.asarray(codes, np.int64).reshape(-1)
        self.codes, self.palette = codes, np.asarray(palette, np.uint8).reshape(-1, 4)
        table = np.vstack([np.asarray(palette, np.float32).reshape(-1, 4), np.asarray(UNKNOWN, np.float32)]) / 255
        self.colours = table[np.where((codes >= 0) & (codes < len(table) - 1), codes, len(table) - 1)]
        self._push()

    def set_axis_labels(self, x: str, y: str, z: str) -> None:
        """Names of the three axes, drawn at the ends of the axis lines."""
        self.axis_names = (x, y, z)
        for label, text in zip(self.axis_labels, self.axis_names):
            label.text = text
        self.canvas.update()

    def _show_legend(self) -> None:
        """Every legend entry at the top left of the canvas, in its colour (another column every 20)."""
        from vispy.color import Color

        rows = 20
        texts, colours, positions = [], [], []
        for i, (name, rgba) in enumerate(self.legend):
            texts.append(f"- {name}")
            colours.append(Color(np.asarray(rgba[:3], float) / 255).rgba)
            positions.append((10 + 140 * (i // rows), 16 + 14 * (i % rows)))
        self.legend_text.text = texts if texts else ""
        if texts:
            self.legend_text.color = np.asarray(colours, np.float32)
            self.legend_text.pos = np.asarray(positions, np.float32)
        self.canvas.update()

    def software_gl(self) -> bool:
        """True when OpenGL is a software rasteriser (asked once, from the canvas's context)."""
        if self._software is None:
            try:
                from vispy.gloo import gl

                self.canvas.set_current()  # the context exists once the canvas was shown
                renderer = str(gl.glGetParameter(gl.GL_RENDERER)).lower()
                self._software = any(word in renderer for word in ("llvmpipe", "softpipe", "software", "swrast"))
            except Exception:  # noqa: BLE001 - no context yet: ask again at the next draw
                return False
        return bool(self._software)

    def _push(self) -> None:
        dense = len(self.xyz) > self.points_limit and self.software_gl()
        self.mode = "density" if dense else "points"
        if len(self.xyz) and not dense:
            self.markers.set_data(self.xyz, face_color=self.colours, edge_width=0, size=self.point_size)
        self.markers.visible = bool(len(self.xyz)) and not dense
        self.density.visible = dense
        if dense:
            self._draw_density()
        self.canvas.update()

    def projection_matrix(self) -> np.ndarray:
        """(4, 4) row-vector matrix from the cloud's coordinates to the canvas's homogeneous pixels
        (the visual-to-canvas transform is linear in homogeneous coordinates: its rows are the images
        of the unit vectors minus that of the origin, and the origin's)."""
        tr = self.markers.get_transform("visual", "canvas")
        mapped = np.asarray(tr.map(np.vstack([np.eye(3), np.zeros((1, 3))])), np.float64)
        return np.vstack([mapped[:3] - mapped[3], mapped[3]])

    def _draw_density(self) -> None:
        if self.mode != "density":
            return
        w, h = (int(v) for v in self.canvas.size)
        pixels, _ = density_image(self.xyz, self.codes, self.palette, self.projection_matrix(), w, h)
        rgba = pixels.view(np.uint8).reshape(h, w, 4)[..., [2, 1, 0, 3]]  # ARGB words, little-endian: BGRA
        self.density.set_data(np.ascontiguousarray(rgba))
        self.canvas.update()

    def _on_canvas_draw(self, _event) -> None:
        """The first draw has a context: ask the driver, and switch to density when it is software."""
        if self._software is None and len(self.xyz) > self.points_limit and self.software_gl():
            QTimer.singleShot(0, self._push)

    def _on_view_changed(self) -> None:
        self._screen = None
        if self.mode == "density" and not self._redraw.isActive():
            self._redraw.start()

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
        if self._screen is None:
            m = self.projection_matrix().astype(np.float32)
            mapped = self.xyz @ m[:3] + m[3]
            self._screen = mapped[:, :2] / mapped[:, 3:4]  # kept until the camera moves
        return self._screen

    def row_at(self, x: float, y: float, radius_px: float = HOVER_RADIUS_PX) -> int:
        pos = self.screen_positions()
        if not len(pos):
            return -1
        near = np.flatnonzero((np.abs(pos[:, 0] - x) <= radius_px) & (np.abs(pos[:, 1] - y) <= radius_px))
        if not len(near):
            return -1
        d = np.hypot(pos[near, 0] - x, pos[near, 1] - y)
        best = int(np.nanargmin(d))
        return int(near[best]) if d[best] <= radius_px else -1

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
        self.legend_text.visible = False  # the figure draws its own legend below the cloud
        dense, self.density.visible = self.density.visible, False
        if dense:  # offscreen at another size: the points themselves, once
            self.markers.set_data(self.xyz, face_color=self.colours, edge_width=0, size=self.point_size)
            self.markers.visible = True
        try:
            paint_3d(painter, self.canvas, self.view, width, height, paper, self.xyz if len(self.xyz) else None,
                     self.legend_entries())
        finally:
            self.axes.visible, self.hover_marker.visible = True, hover
            self.legend_text.visible = True
            self.markers.visible, self.density.visible = not dense and bool(len(self.xyz)), dense

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

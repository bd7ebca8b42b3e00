"""Paper figures from every view (issue 14, item 3), rasterised and checked: the background is
the one asked for, the content is framed (its bounding box covers most of the image, centred),
and the legend shows every entry (each swatch's colour is in the legend band; each name is in
the SVG's text). PNG is read directly, SVG rasterised by QSvgRenderer, PDF by pdftoppm."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from analysis_helpers import shown
from app.export import Figure, export_figure
from app.export.menu import main_figures
from app.export.scene3d import legend_height
from app.views.scatter3d import Scatter3D
from app.visuals.palettes import categorical
from app.visuals.scatter_plot import ScatterPlot
from helpers import wait_for_prediction

WHITE = (255, 255, 255)
DARK = (0x1C, 0x1F, 0x26)  # vispy's screen background (0.11, 0.12, 0.15)


def rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, :3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def read_png(path) -> np.ndarray:
    image = QImage(str(path))
    assert not image.isNull()
    return rgb(image)


def read_svg(path, width: int, height: int) -> np.ndarray:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(path))
    assert renderer.isValid()
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(0xFF808080)  # neither white nor dark: the figure must paint its own background
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, width, height))
    painter.end()
    return rgb(image)


def read_pdf(path, tmp_path: Path, width: int) -> np.ndarray:
    out = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-singlefile", "-scale-to-x", str(width), "-scale-to-y", "-1",
                    str(path), str(out)], check=True, timeout=60)
    return read_png(out.with_suffix(".png"))


def content_box(img: np.ndarray, background, tol: int = 24) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the pixels that differ from ``background``."""
    diff = np.abs(img.astype(int) - np.asarray(background)).max(axis=2) > tol
    ys, xs = np.nonzero(diff)
    assert len(xs), "the figure is empty"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def has_colour(region: np.ndarray, colour, tol: int = 3) -> bool:
    return bool((np.abs(region.astype(int) - np.asarray(colour[:3])).max(axis=2) <= tol).any())


def check_figure(img: np.ndarray, background, legend: list, legend_px: int, min_cover: float = 0.6) -> None:
    """Background at the corners, the scene framed, every legend swatch in the band."""
    h, w = img.shape[:2]
    for y, x in ((0, 0), (0, w - 1), (h - 1, w - 1)):
        assert np.abs(img[y, x].astype(int) - background).max() <= 3, (img[y, x], background)
    scene = img[:h - legend_px]
    x0, y0, x1, y1 = content_box(scene, background)
    side = min(scene.shape[0], w)
    assert (x1 - x0) >= min_cover * side and (y1 - y0) >= min_cover * side, ((x0, y0, x1, y1), scene.shape)
    centre = np.array([(x0 + x1) / 2 / w, (y0 + y1) / 2 / scene.shape[0]])
    assert np.all(np.abs(centre - 0.5) < 0.15), centre  # framed, not left in a corner
    band = img[h - legend_px:]
    for name, colour in legend:
        assert has_colour(band, colour), f"legend entry {name} {colour} is not drawn"


def test_a_scatter_legend_sits_beside_the_plot_with_all_18_entries(qtbot, tmp_path):
    plot = ScatterPlot(title="PCA of encoder")
    plot.resize(640, 420)
    shown(plot, qtbot)
    rng = np.random.default_rng(0)
    palette = categorical(18)
    legend = [(f"action {i:02d}", tuple(int(c) for c in palette[i])) for i in range(18)]
    plot.set_data(rng.normal(size=(900, 2)), np.arange(900))
    plot.set_colours(np.arange(900) % 18, palette, legend)
    qtbot.waitUntil(lambda: plot.legend.isVisible() and plot.legend.sceneBoundingRect().left() > 0)
    assert [n for n, _ in plot.legend_entries()] == [n for n, _ in legend]  # none dropped
    assert plot.legend.sceneBoundingRect().left() >= plot.viewbox.sceneBoundingRect().right() - 1  # never over data
    fig = Figure("embedding", "PCA", plot)
    png = read_png(export_figure(fig, tmp_path / "e.png", 1400))
    assert tuple(png[0, 0]) == WHITE and tuple(png[-1, -1]) == WHITE
    x0, y0, x1, y1 = content_box(png, WHITE)
    assert x1 - x0 > 0.9 * png.shape[1] and y1 - y0 > 0.9 * png.shape[0]
    svg = export_figure(fig, tmp_path / "e.svg")
    text = " ".join(t.text or "" for t in ET.parse(svg).getroot().iter() if t.tag.endswith("text"))
    assert all(name in text for name, _ in legend)
    plot.set_colours(np.zeros(900, np.int64), palette, [])  # no legend: no empty column either
    assert not plot.legend.isVisible() and plot.legend.scene() is plot.scene()


@pytest.mark.parametrize("size", [(1200, 800), (500, 700)])
def test_a_3d_cloud_exports_framed_on_white_with_its_legend(qtbot, tmp_path, size):
    cloud = Scatter3D()
    cloud.resize(420, 300)
    shown(cloud, qtbot)
    rng = np.random.default_rng(2)
    palette = categorical(3)
    codes = np.arange(600) % 3
    cloud.set_data(rng.normal(size=(600, 3)) + codes[:, None] * 1.5, np.arange(600))
    legend = [(f"cluster {i}", tuple(int(c) for c in palette[i])) for i in range(3)]
    cloud.set_colours(codes, palette, legend)
    fig = Figure("embedding_3d", "3D PCA", cloud)
    assert fig.legend() == legend and fig.formats() == (".png", ".svg", ".pdf")
    band = legend_height(legend, *size)
    for paper, background in ((True, WHITE), (False, DARK)):
        img = read_png(export_figure(fig, tmp_path / "c.png", *size, paper=paper))
        assert img.shape[:2] == (size[1], size[0])
        check_figure(img, background, legend, band)
    check_figure(read_svg(export_figure(fig, tmp_path / "c.svg", *size), *size), WHITE, legend, band)
    if shutil.which("pdftoppm"):
        pdf = read_pdf(export_figure(fig, tmp_path / "c.pdf", *size), tmp_path, size[0])
        check_figure(pdf, WHITE, [], int(band * pdf.shape[0] / size[1]))


def test_the_compare_pose_view_exports_framed_with_a_legend_of_both_models(qtbot, tmp_path):
    from app.views.compare_panels import PAPER_COLOURS, PosePairView
    from hpe_core.skeleton import PANOPTIC19

    from helpers import poses

    view = PosePairView()
    view.resize(300, 260)
    shown(view, qtbot)
    p = poses(3)
    gt = p[0] - p[0][PANOPTIC19.root]
    view.set_poses(PANOPTIC19, {"gt": gt, "a": gt + 40.0, "b": gt - 40.0},
                   {"gt": "ground truth", "a": "simclr_regress2.pt", "b": "simsiam_regress2.pt"})
    fig = Figure("predictions_3d", "both", view)
    names = [n for n, _ in fig.legend()]
    assert names == ["ground truth", "simclr_regress2.pt", "simsiam_regress2.pt"]
    img = read_png(export_figure(fig, tmp_path / "p.png", 1000, 900))
    legend = fig.legend()
    assert legend[0][1] == tuple(int(round(c * 255)) for c in PAPER_COLOURS["gt"])  # dark on white
    check_figure(img, WHITE, legend, legend_height(legend, 1000, 900), min_cover=0.5)
    # the on-screen colours are back after the export
    assert np.allclose(view.skeletons["gt"]._markers._data["a_bg_color"][0][:3], 0.92, atol=0.01)


def test_the_main_image_and_3d_view_export_as_paper_figures(qtbot, window, files, tmp_path):
    ws = window.workspace
    ws.open_paths([str(files.dataset), str(files.checkpoint)])
    wait_for_prediction(qtbot, ws)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.pred_3d is not None)
    figures = {f.name: f for f in main_figures(window)}
    assert set(figures) == {"overlay_2d", "skeleton_3d"}
    for name, size in (("overlay_2d", (900, 900)), ("skeleton_3d", (1600, 900))):
        fig = figures[name]
        legend = fig.legend()
        assert len(legend) == 4 and {"ground truth · left", "ground truth · right"} <= {n for n, _ in legend}
        band = legend_height(legend, *size)
        img = read_png(export_figure(fig, tmp_path / f"{name}.png", *size))
        assert img.shape[:2] == (size[1], size[0])
        check_figure(img, WHITE, legend, band, min_cover=0.5)
        svg = export_figure(fig, tmp_path / f"{name}.svg", *size)
        text = " ".join(t.text or "" for t in ET.parse(svg).getroot().iter() if t.tag.endswith("text"))
        assert all(n in text for n, _ in legend)
        check_figure(read_svg(svg, *size), WHITE, legend, band, min_cover=0.5)
    # the 3D skeleton itself fills the figure: the ground truth's left-side blue spans its height
    img = read_png(tmp_path / "skeleton_3d.png")
    scene = img[:900 - legend_height(figures["skeleton_3d"].legend(), 1600, 900)]
    blue = np.abs(scene.astype(int) - (46, 120, 217)).max(axis=2) <= 40
    ys = np.nonzero(blue.any(axis=1))[0]
    assert ys.max() - ys.min() > 0.6 * scene.shape[0]


def test_the_image_views_key_covers_no_joint_and_leaves_the_image_when_it_can(qtbot, window, files):
    from app.visuals.image_canvas import ImageCanvas

    ws = window.workspace
    ws.open_paths([str(files.dataset), str(files.checkpoint)])
    wait_for_prediction(qtbot, ws)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.pred_2d is not None
                    and ws.feed.sample.image is not None)
    canvas = ImageCanvas()
    shown(canvas, qtbot)
    canvas.set_sample(ws.feed.sample)
    s = ws.feed.sample
    for size in ((520, 300), (300, 620)):
        canvas.resize(*size)
        canvas.grab()  # paints it now
        box, image = canvas.legend_rect, canvas.image_rect()
        assert not box.isEmpty() and QRectF(canvas.rect()).contains(box)
        sx, sy = image.width() / s.image.shape[1], image.height() / s.image.shape[0]
        for pts in (s.gt_2d, s.pred_2d):
            for x, y in np.asarray(pts)[np.isfinite(pts).all(axis=1)]:
                assert not box.contains(image.left() + x * sx, image.top() + y * sy)
        if image.height() + box.height() + 8 <= size[1]:  # the letterbox has room: outside the image
            assert not box.intersects(image)

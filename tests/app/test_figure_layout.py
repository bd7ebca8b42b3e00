"""Every exportable figure, in every format, at the size asked (issue 29, item 10): the file is
that size (PNG px; SVG px; PDF pt = 0.75 px, and its pdftoppm raster at 96 dpi that many px); its
text read back from the PDF (pdftotext -bbox: the same layout the PNG and SVG draw, which the SVG
raster matching the PNG shows) has every word inside the page and none over another; the axis
labels and row labels are there; on-screen highlights (a hover ring, a selection, the picked filter)
are not. The views are filled once per module with small arrays from the real analysis code."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from app.export import Figure, export_figure
from figure_checks import layout_faults, missing, pdf_raster, pdf_size, pdf_words, png_size, svg_size

pytestmark = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                                reason="needs poppler's pdftotext and pdftoppm")

LAYERS = ["conv1", "layer1", "layer2", "layer3", "layer4", "encoder", "projection", "prediction"]
# the on-screen highlights: the scatter's hover ring, the kernel grid's picked filter, the 3D cloud's hover ring
HIGHLIGHTS = {"embedding": (255, 220, 80), "conv1_filters": (255, 230, 90), "embedding_3d": (255, 219, 76)}
SIZES = [(900, 600), (400, 300)]


def _scatter(make):
    from app.visuals.palettes import categorical
    from app.visuals.scatter_plot import ScatterPlot

    plot = make(ScatterPlot(title="PCA of encoder"))
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(400, 2))
    codes = np.arange(400) % 6
    plot.set_data(xy, np.arange(400))
    plot.set_colours(codes, categorical(6), [(f"action {i}", tuple(categorical(6)[i])) for i in range(6)])
    plot.set_axis_labels("PC 1", "PC 2")
    plot.set_selected(np.arange(0, 400, 3))  # on-screen only
    plot.show_hover(5)
    return plot, ["PC 1", "PC 2", "action 5"]


def _silhouette(make):
    from app.visuals.palettes import categorical
    from app.visuals.silhouette_plot import SilhouettePlot

    plot = make(SilhouettePlot())
    rng = np.random.default_rng(1)
    labels = np.arange(300) % 5
    plot.set_data(rng.uniform(-0.2, 0.8, 300), labels, categorical(5), [f"cluster {i}" for i in range(5)], 0.31)
    return plot, ["silhouette", "cluster 0", "cluster 4 (60)", "cluster (samples)"]


def _label_bars(make):
    from app.visuals.silhouette_plot import LabelSilhouetteChart

    chart = make(LabelSilhouetteChart())
    series = {"a": {"clusters": 0.412, "action": 0.031, "camera": -0.052, "subject": 0.004, "pose_id": 0.118},
              "b": {"clusters": 0.398, "action": 0.027, "camera": -0.047, "subject": 0.006, "pose_id": 0.121}}
    chart.set_data(series, {"a": "simclr.pt", "b": "simsiam.pt"}, "clusters and labels")
    return chart, ["silhouette", "grouping", "k-means clusters", "camera", "simclr.pt", "+0.412", "-0.047"]


def _scan(make):
    from types import SimpleNamespace

    from app.visuals.silhouette_plot import SilhouetteScanPlot

    plot = make(SilhouetteScanPlot())
    ks = np.arange(2, 21)
    scans = {k: SimpleNamespace(ks=ks, scores=0.3 + 0.1 * np.sin(ks / (3 + i)), best_k=int(ks[np.argmax(
        0.3 + 0.1 * np.sin(ks / (3 + i)))])) for i, k in enumerate(("a", "b"))}
    plot.set_scans(scans, {"a": "simclr.pt", "b": "simsiam.pt"}, "silhouette over k")
    return plot, ["k (k-means clusters)", "silhouette", "simclr.pt"]


def _cka(make):
    from app.views.compare_panels import SHORT, CkaHeatmap

    heat = make(CkaHeatmap())
    rng = np.random.default_rng(2)
    cka = rng.uniform(0, 1, (len(LAYERS), len(LAYERS)))
    heat.set_data(LAYERS, LAYERS, cka, "A: simclr.pt", "B: simsiam.pt")
    heat.large = [f"{v:.2f}" for v in cka.ravel()]  # in cells big enough for them (never run together)
    return heat, ["A: simclr.pt", "B: simsiam.pt", *LAYERS, *[SHORT[n] for n in LAYERS]]


def _kernel_bundle():
    import torch

    from app.workers.analysis_jobs import kernels_job
    from hpe_core.models import build_model
    from hpe_core.progress import NullProgress

    torch.manual_seed(0)
    return kernels_job(build_model("simclr", "resnet18", width=8))(NullProgress())


def _kernel_grid(make, bundle):
    from app.views.kernel_panels import KernelGridPanel

    grid = make(KernelGridPanel())
    grid.set_bundle(bundle, "rgb", "simclr.pt")
    grid.select(2)  # on-screen only
    return grid, ["conv1", "simclr.pt"]


def _filter_detail(make, bundle):
    from app.views.kernel_panels import FilterDetailPanel

    panel = make(FilterDetailPanel())
    rng = np.random.default_rng(3)
    panel.set_image(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    panel.set_filter(1, bundle.report.entries()[1], rng.normal(size=(32, 32)), bundle.frequency[1])
    return panel, ["image", "filter 1 response", "|FFT| of the filter", "|sum| / max|FFT|"]


def _conv1_pair(make, bundle):
    from app.views.compare_panels import Conv1Pair

    pair = make(Conv1Pair())
    pair.set_kernels({"a": bundle, "b": bundle}, {"a": "simclr.pt", "b": "simsiam.pt"})
    return pair, ["A: simclr.pt", "B: simsiam.pt"]


def _poses(make):
    from app.views.compare_panels import PosePairView
    from helpers import poses
    from hpe_core.skeleton import PANOPTIC19

    view = make(PosePairView())
    gt = poses(1)[0] - poses(1)[0][PANOPTIC19.root]
    view.set_poses(PANOPTIC19, {"gt": gt, "a": gt + 30.0, "b": gt - 30.0},
                   {"gt": "ground truth", "a": "simclr_regress2.pt", "b": "simsiam_regress2.pt"})
    return view, ["ground truth", "simclr_regress2.pt", "simsiam_regress2.pt"]


def _cloud(make):
    from app.views.scatter3d import Scatter3D
    from app.visuals.palettes import categorical

    cloud = make(Scatter3D())
    rng = np.random.default_rng(4)
    cloud.set_data(rng.normal(size=(300, 3)), np.arange(300))
    cloud.set_colours(np.arange(300) % 4, categorical(4), [(f"cluster {i}", tuple(categorical(4)[i])) for i in range(4)])
    cloud.show_hover(7)
    return cloud, ["cluster 0", "cluster 3"]


def _sample():
    from app.model.sample_data import SampleData
    from helpers import poses
    from hpe_core.skeleton import PANOPTIC19

    gt = poses(1)[0]
    gt_2d = 240 + 0.12 * gt[:, :2]
    rng = np.random.default_rng(5)
    return SampleData(index=3, skeleton=PANOPTIC19, image=rng.integers(60, 200, (480, 480, 3), dtype=np.uint8),
                      gt_2d=gt_2d, pred_2d=gt_2d + 6.0, gt_3d=gt, pred_3d=gt + 25.0, title="sample #3")


def _overlay(make):
    from app.views.overlay_figure import OverlayFigure
    from app.visuals.image_canvas import ImageCanvas

    canvas = make(ImageCanvas())
    canvas.set_sample(_sample())
    return OverlayFigure(canvas), ["ground truth · left", "prediction (dashed) · right"]


def _scene(make):
    from app.model.catalog import Catalog
    from app.model.sample_feed import SampleFeed
    from app.model.view_options import ViewOptions
    from app.views.scene_view import SceneView

    feed = SampleFeed()
    view = make(SceneView(Catalog(), feed, ViewOptions()))
    feed.show(_sample())
    return view, ["ground truth · left", "prediction · right"]


@pytest.fixture(scope="module")
def figures(qapp):
    """{name: (Figure, words the figure must show)}, in shown windows, made once for the module."""
    widgets = []

    def make(widget):
        widget.resize(420, 300)  # small on screen: the export must not take its size from it
        widget.show()
        widgets.append(widget)
        return widget

    bundle = _kernel_bundle()
    built = {"embedding": _scatter(make), "silhouette": _silhouette(make), "label_silhouettes": _label_bars(make),
             "silhouette_scan": _scan(make), "cka": _cka(make), "conv1_filters": _kernel_grid(make, bundle),
             "filter_detail": _filter_detail(make, bundle), "conv1_pair": _conv1_pair(make, bundle),
             "predictions_3d": _poses(make), "embedding_3d": _cloud(make),
             "overlay_2d": _overlay(make), "skeleton_3d": _scene(make)}
    qapp.processEvents()
    yield {name: (Figure(name, name, target), words) for name, (target, words) in built.items()}
    for widget in widgets:
        widget.close()
        widget.deleteLater()
    qapp.processEvents()


def rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, :3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


def svg_raster(path, width: int, height: int) -> np.ndarray:
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(0xFF808080)
    painter = QPainter(image)
    QSvgRenderer(str(path)).render(painter, QRectF(0, 0, width, height))
    painter.end()
    return rgb(image)


NAMES = ["embedding", "silhouette", "label_silhouettes", "silhouette_scan", "cka", "conv1_filters", "filter_detail",
         "conv1_pair", "predictions_3d", "embedding_3d", "overlay_2d", "skeleton_3d"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", NAMES)
def test_every_figure_exports_at_the_asked_size_with_its_text_inside_and_apart(figures, tmp_path, name, size):
    figure, expected = figures[name]
    w, h = size
    png = export_figure(figure, tmp_path / f"{name}.png", w, h)
    assert png_size(png) == (w, h)
    assert svg_size(export_figure(figure, tmp_path / f"{name}.svg", w, h)) == (w, h)
    pdf = export_figure(figure, tmp_path / f"{name}.pdf", w, h)
    assert pdf_size(pdf) == pytest.approx((w * 0.75, h * 0.75), abs=0.5)
    raster = pdf_raster(pdf, tmp_path)
    assert abs(raster.shape[1] - w) <= 1 and abs(raster.shape[0] - h) <= 1
    page, words = pdf_words(pdf)
    assert layout_faults(page, words) == []
    assert missing(expected + (getattr(figure.target, "large", []) if w >= 900 else []), words) == []
    image = rgb(QImage(str(png)))
    if name in HIGHLIGHTS:
        assert not (np.abs(image - HIGHLIGHTS[name]).max(axis=2) <= 8).any(), "an on-screen highlight is exported"
    if figure.vector:  # the SVG draws the PNG's layout (text rasterises a little differently)
        assert np.abs(svg_raster(tmp_path / f"{name}.svg", w, h) - image).mean() < 6.0

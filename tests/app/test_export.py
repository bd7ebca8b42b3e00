"""Figure and report export: PNG at the requested size and not blank, SVG and PDF that parse,
vispy canvases as PNG, and a report that holds every figure, table and provenance."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser

import numpy as np
import pytest
from PySide6.QtGui import QImage

from analysis_helpers import afiles, blank, open_files, shown, wait_done  # noqa: F401
from app.export import Figure, ReportSection, Table, export_figure, write_report
from app.export.dialog import ExportDialog
from app.views.scatter3d import Scatter3D
from app.visuals.palettes import categorical
from app.visuals.scatter_plot import ScatterPlot
from hpe_core.errors import InputError


def image_array(path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull(), f"{path} does not open as an image"
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, :3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def parse_pdf(data: bytes) -> dict:
    """A small structural PDF reader: the cross-reference table must point at every object."""
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    start = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    assert data[start:start + 4] == b"xref", "startxref does not point at the xref table"
    first, count = (int(v) for v in re.match(rb"xref\s+(\d+)\s+(\d+)", data[start:]).groups())
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf])", data[start:start + 40 + 20 * count])[:count]
    objects = {}
    for number, (offset, _gen, kind) in enumerate(entries, start=first):
        if kind == b"n":
            offset = int(offset)
            assert re.match(rb"%d 0 obj" % number, data[offset:offset + 20]), f"object {number} is not at {offset}"
            objects[number] = data[offset:data.index(b"endobj", offset)]
    streams = []
    for body in objects.values():
        if b"stream" in body:
            raw = body[body.index(b"stream") + 6:].lstrip(b"\r\n")
            raw = raw[:raw.rindex(b"endstream")]
            streams.append(zlib.decompress(raw) if b"/FlateDecode" in body else raw)
    pages = [b for b in objects.values() if re.search(rb"/Type\s*/Page\b", b)]
    boxes = [tuple(float(v) for v in m.groups()) for b in pages
             for m in [re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", b)] if m]
    images = [b for b in objects.values() if re.search(rb"/Subtype\s*/Image", b)]
    return {"objects": objects, "pages": pages, "boxes": boxes, "streams": streams, "images": images}


@pytest.fixture
def scatter(qtbot):
    plot = ScatterPlot(title="PCA of encoder")
    plot.resize(640, 480)
    shown(plot, qtbot)
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(3000, 2))
    codes = (xy[:, 0] > 0).astype(int) + 2 * (xy[:, 1] > 0)
    plot.set_data(xy, np.arange(3000))
    plot.set_colours(codes, categorical(4), [(f"cluster {i}", tuple(categorical(4)[i])) for i in range(4)])
    plot.set_axis_labels("PCA 1", "PCA 2")
    return Figure("embedding", "PCA of encoder", plot, {"checkpoint_sha256": "ab" * 32})


@pytest.mark.parametrize("width", [400, 1600])
@pytest.mark.parametrize("paper", [True, False])
def test_png_of_a_plot_has_the_requested_width_and_is_not_blank(scatter, tmp_path, width, paper):
    path = export_figure(scatter, tmp_path / "fig.png", width=width, paper=paper)
    img = image_array(path)
    sw, sh = scatter.screen_size()
    assert img.shape[1] == width and abs(img.shape[0] - round(sh * width / sw)) <= 1
    assert not blank(img)
    corner = img[2, 2].tolist()
    assert corner == ([255, 255, 255] if paper else [0x23, 0x26, 0x2D])
    # the four cluster colours are drawn (not a scaled screenshot of the dark theme)
    for rgba in categorical(4):
        near = np.abs(img.astype(int) - rgba[:3].astype(int)).sum(axis=2) < 60
        assert near.sum() > width // 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]  # no temporary file left


def test_svg_parses_and_is_vector(scatter, tmp_path):
    from PySide6.QtSvg import QSvgRenderer

    path = export_figure(scatter, tmp_path / "fig.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert QSvgRenderer(str(path)).isValid()
    text = path.read_text()
    assert "PCA 1" in text and "cluster 3" in text  # axis labels and legend are text
    circles = len(re.findall(r"[Cc]", " ".join(p.get("d", "") for p in root.iter("{http://www.w3.org/2000/svg}path"))))
    assert circles >= 3000  # every point is a curve, none a bitmap
    assert "<image" not in text


def test_pdf_parses_with_one_page_the_size_of_the_figure(scatter, tmp_path):
    path = export_figure(scatter, tmp_path / "fig.pdf", 700, 500)  # not the on-screen 640 x 480
    pdf = parse_pdf(path.read_bytes())
    assert len(pdf["pages"]) == 1
    x0, y0, x1, y1 = pdf["boxes"][0]
    assert (x1 - x0, y1 - y0) == pytest.approx((700 * 0.75, 500 * 0.75), abs=1.5)
    drawing = b"".join(pdf["streams"])
    assert drawing.count(b" c\n") + drawing.count(b" c ") > 1000 and not pdf["images"]  # vector curves


@pytest.mark.parametrize("size", [(320, 240), (120, 90), (1800, 1200)])
def test_a_vispy_canvas_exports_a_png_of_exactly_the_size_asked(qtbot, tmp_path, size):
    cloud = Scatter3D()
    cloud.resize(500, 400)
    shown(cloud, qtbot)
    xyz = np.random.default_rng(1).normal(size=(400, 3))
    cloud.set_data(xyz, np.arange(400))
    cloud.set_colours(np.arange(400) % 3, categorical(3))
    fig = Figure("cloud", "3D PCA", cloud)
    path = export_figure(fig, tmp_path / "cloud.png", *size)
    img = image_array(path)
    assert img.shape[:2] == (size[1], size[0]) and not blank(img)
    svg = export_figure(fig, tmp_path / "cloud.svg", *size)  # a painted figure: the 3D raster inside an SVG
    assert any(el.tag.endswith("image") for el in ET.parse(svg).getroot().iter())


@pytest.mark.parametrize("name, match", [("fig.jpg", "unknown figure format"), ("missing/fig.png", "does not exist")])
def test_bad_export_paths_are_refused(scatter, tmp_path, name, match):
    with pytest.raises(InputError, match=match):
        export_figure(scatter, tmp_path / name)


def test_export_dialog_writes_the_chosen_format_and_reports_a_bad_folder(qtbot, scatter, tmp_path):
    dialog = ExportDialog([scatter], folder=tmp_path)
    qtbot.addWidget(dialog)
    from figure_checks import svg_size

    dialog.format.setCurrentIndex(dialog.format.findData(".svg"))
    assert dialog.path.text().endswith("embedding.svg")
    dialog.width.setValue(500)  # a vector figure is sized as asked too, not from the widget on screen
    dialog.height.setValue(700)
    dialog.accept()
    assert dialog.exported == tmp_path / "embedding.svg" and svg_size(dialog.exported) == (500, 700)
    dialog.path.setText(str(tmp_path / "nowhere" / "x.svg"))
    dialog.accept()
    assert "does not exist" in dialog.error.text()


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images, self.tables, self.captions, self.text = [], 0, [], []
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        elif tag == "table":
            self.tables += 1
        elif tag == "figcaption":
            self._in_caption = True

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_caption:
            self.captions.append(data)


def test_report_holds_every_figure_table_and_provenance(qtbot, afiles, tmp_path):  # noqa: F811
    from app.views.compare_view import CompareView
    from app.views.embedding_view import EmbeddingView
    from app.views.kernel_view import KernelView
    from app.workspace import Workspace
    from hpe_core import __version__
    from hpe_core.models import file_hash

    ws = Workspace()
    views = [EmbeddingView(ws), KernelView(ws), CompareView(ws)]
    try:
        for v in views:
            v.resize(1000, 600)
            shown(v, qtbot)
        open_files(qtbot, ws, afiles.dataset, afiles.simclr_regress, afiles.simsiam_regress)
        embedding, kernels, compare = views
        embedding.clusters.setValue(3)
        embedding.samples.setValue(0)
        kernels.refresh()
        embedding.run()
        compare.checkpoint_b.setCurrentIndex(1 - compare.checkpoint_a.currentIndex())
        compare.split.setCurrentIndex(compare.split.findData("all"))
        compare.run()
        for v in views:
            wait_done(qtbot, v.runner)
        qtbot.waitUntil(lambda: kernels.maps is not None and compare.pose_index >= 0
                        and not compare.pose_runner.running(), timeout=30_000)
        sections = [v.report_section() for v in views]
        assert all(s is not None for s in sections)
        html_path, pdf_path = write_report(tmp_path / "report.html", sections, width=900)
    finally:
        for v in views:
            v.shutdown()
        ws.close()
    figures = [f for s in sections for f in s.figures]
    tables = [t for s in sections for t in s.tables]
    assert len(figures) >= 2 + 3 + 5  # embedding + silhouette, grid + filter + maps, 2 columns + CKA + conv1 + 3D
    parser = _Html()
    parser.feed(html_path.read_text(encoding="utf-8"))
    assert len(parser.images) == len(figures)
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        image = QImage.fromData(png, "PNG")
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and image.width() == 900
    assert [c.strip() for c in parser.captions] == [f.title for f in figures]
    provenance_tables = (sum(1 for s in sections for f in s.figures if f.provenance and f.provenance != s.provenance)
                         + sum(1 for s in sections if s.provenance))
    assert parser.tables == len(tables) + provenance_tables
    text = " ".join(parser.text)
    for path in (afiles.simclr_regress, afiles.simsiam_regress):
        assert file_hash(path) in text  # every checkpoint is named by its hash
    assert f"HPE Studio {__version__}" in text and "hpe compare" in text and "hpe embed" in text
    for table in tables:
        assert table.title in text
    pdf = parse_pdf(pdf_path.read_bytes())
    assert len(pdf["pages"]) >= 2 and len(pdf["images"]) >= len(figures)


def test_a_report_needs_results():
    with pytest.raises(InputError, match="no view has results"):
        write_report("report.html", [])
    with pytest.raises(InputError, match=".html"):
        write_report("report.pdf", [ReportSection("x", tables=[Table("t", ["a"], [[1]])])])


def test_the_main_windows_analysis_menu_shows_views_and_exports_a_report(qtbot, window, afiles, tmp_path):  # noqa: F811
    from app.actions import SHORTCUTS
    from app.export.menu import export_report
    from app.model import messages as msg
    from app.views.embedding_view import EmbeddingView

    acts = window.actions_
    for name, _text, key, _tip in SHORTCUTS:
        assert acts[name].shortcut().toString() == key
    assert export_report(window, tmp_path / "empty.html") is None  # nothing computed yet: said, not written
    assert window.message_bar.history[-1] == ("info", msg.NO_FIGURES)
    acts["show_embedding"].trigger()
    view = window.analysis_docks["embedding"].view
    assert isinstance(view, EmbeddingView) and window.analysis_docks["embedding"].isVisible()
    open_files(qtbot, window.workspace, afiles.dataset, afiles.simclr)
    view.clusters.setValue(3)
    view.samples.setValue(0)
    view.run()
    wait_done(qtbot, view.runner)
    html_path = export_report(window, tmp_path / "report.html")
    assert html_path == tmp_path / "report.html" and html_path.is_file() and (tmp_path / "report.pdf").is_file()
    assert window.message_bar.history[-1] == ("info", msg.REPORT_WRITTEN.format(path=html_path))
    assert "Embedding explorer" in html_path.read_text(encoding="utf-8")

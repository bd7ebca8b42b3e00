"""Silhouettes of the dataset's labels beside the clusters', the scan over k and the collapse
check (issue 14, item 4), in the embedding explorer and in Compare, on real checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_helpers import afiles, open_files, shown, wait_done  # noqa: F401
from app.export import export_figure
from app.views.compare_view import CompareView
from app.views.embedding_view import EmbeddingView
from app.workspace import Workspace
from hpe_core.analysis import compute_embeddings, dataset_label_silhouettes, silhouette_scan
from hpe_core.analysis.health import describe_measures


@pytest.fixture
def ws_view(qtbot, afiles, request):  # noqa: F811
    ws = Workspace()
    view = request.param(ws)
    view.resize(1300, 800)
    shown(view, qtbot)
    yield ws, view
    view.shutdown()
    ws.close()


def expected_structure(req):
    emb = compute_embeddings(req.embed_spec((req.layer,)))
    x = np.asarray(emb.features[req.layer], np.float32)
    return (dataset_label_silhouettes(x, emb.dataset, emb.indices),
            silhouette_scan(x, range(2, min(20, len(x) - 1) + 1), seed=req.seed))


@pytest.mark.parametrize("ws_view", [EmbeddingView], indirect=True)
def test_the_explorer_shows_label_silhouettes_beside_the_clusters_and_a_scan(qtbot, ws_view, afiles, tmp_path):  # noqa: F811
    ws, view = ws_view
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    view.clusters.setValue(4)
    view.samples.setValue(0)
    view.run()
    wait_done(qtbot, view.runner)
    qtbot.waitUntil(lambda: bool(view.structures), timeout=120_000)
    s = view.structures["main"]
    labels, scan = expected_structure(view.bundle.request)
    assert set(s.labels) == {"action", "camera", "subject", "pose_id"}
    for name, value in labels.items():
        assert s.labels[name] == pytest.approx(value, abs=1e-6)  # float32 features, threads may differ
    assert s.scan.ks.tolist() == list(range(2, 21)) and np.allclose(s.scan.scores, scan.scores, equal_nan=True)
    assert s.clusters == pytest.approx(view.bundle.result.silhouette["clusters"])
    # beside the clusters' silhouette: one chart, the clusters' bar first; the scan plotted with its best k
    chart = view.structure.chart
    assert chart.isVisible() and view.silhouette.isVisible() and view.structure.scan.isVisible()
    assert list(chart.values["main"]) == ["clusters", "action", "camera", "subject", "pose_id"]
    ticks = [t for _, t in chart.plot_item.getAxis("left")._tickLevels[0]]
    assert ticks == ["k-means clusters", "action", "camera", "subject", "pose"]
    assert f"best k = {s.scan.best_k}" in view.structure.scan.plot_item.titleLabel.text
    assert "effective rank" in view.structure.collapse.text()
    assert s.health["rankme"] >= 1.0 and f"health: {describe_measures(s.health)}" in view.structure.collapse.text()
    figures = {f.name: f for f in view.figures()}
    for name in ("label_silhouettes", "silhouette_scan"):
        path = export_figure(figures[name], tmp_path / f"{name}.png", 900)
        assert path.stat().st_size > 2000
    section = view.report_section()
    assert any(t.title == "Silhouette over k" and len(t.rows) == 19 for t in section.tables)


def collapsed_copy(src, dst):
    """``src`` (a SimSiam checkpoint) with its projector's weights zeroed: a collapsed projection."""
    import torch

    from hpe_core.models.checkpoint import load_checkpoint, save_checkpoint

    model, _info = load_checkpoint(src, device="cpu")
    with torch.no_grad():
        for module in model.projector:
            if isinstance(module, torch.nn.Linear):
                module.weight.zero_()
                if module.bias is not None:
                    module.bias.zero_()
    return save_checkpoint(dst, model)


@pytest.mark.parametrize("ws_view", [CompareView], indirect=True)
def test_compare_shows_a_minus_b_label_silhouettes_and_flags_a_collapsed_embedding(qtbot, ws_view, afiles,  # noqa: F811
                                                                                  tmp_path):
    ws, view = ws_view
    collapsed = collapsed_copy(afiles.simsiam, tmp_path / "collapsed.pt")
    open_files(qtbot, ws, afiles.dataset, afiles.simclr, collapsed)
    keys = {c.path.name: k for k, c in ws.catalog.checkpoints.items()}
    view.checkpoint_a.select_key(keys["simclr.pt"])
    view.checkpoint_b.select_key(keys["collapsed.pt"])
    view.split.setCurrentIndex(view.split.findData("all"))
    view.samples.setValue(0)
    view.clusters.setValue(4)
    view.layer.setCurrentIndex(view.layer.findData("projection"))
    view.run()
    wait_done(qtbot, view.runner, timeout=180_000)
    assert view.bundle is not None, view.strip.message.text()
    rows = {row[0]: row[1:] for row in view.metrics.rows}
    assert view.metrics.horizontalHeaderItem(3).text() == "A − B"
    for label, (a, b, diff) in rows.items():
        if isinstance(a, float) and isinstance(b, float):
            assert diff == pytest.approx(a - b)
    for title in ("action", "camera", "subject", "pose"):
        assert f"silhouette of {title} labels · projection" in rows
    assert "projection" in rows["collapsed layers"][1].split(", ")
    assert "projection" not in rows["collapsed layers"][0].split(", ")
    assert rows["effective rank · projection"][1] == pytest.approx(1.0, abs=1e-3)
    assert rows["feature spread (of isotropic) · projection"][1] < 0.01
    assert rows["RankMe · projection"][1] == pytest.approx(1.0, abs=1e-3) and rows["spread · projection"][1] < 0.01
    qtbot.waitUntil(lambda: bool(view.structures), timeout=180_000)
    assert set(view.structures) == {"a", "b"} and view.structures["b"].collapse.collapsed
    assert not view.structures["a"].collapse.collapsed
    text = view.structure.collapse.text()
    assert "COLLAPSED" in text and "collapsed.pt · projection looks collapsed" in text
    assert set(view.structure.chart.values) == {"a", "b"} and set(view.structure.scan.scans) == {"a", "b"}
    legend = [label.text for _, label in view.structure.scan.legend.items]
    assert len(legend) == 2 and "best k = " in legend[0]
    assert legend[1].startswith("B") and "fewer than 2 clusters" in legend[1]  # a point has no clusters
    assert np.isnan(view.structures["b"].scan.scores).all()
    names = [f.name for f in view.figures()]
    assert "compare_label_silhouettes" in names and "compare_silhouette_scan" in names

"""``hpe report``: tables equal ``hpe evaluate``'s numbers, per-action means by hand, LaTeX well
formed, figures and documents valid files, ``--rerun`` reproduces the tables byte for byte, bad
input exits 2 with one line, cancelling leaves no report."""

import csv
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import cv2
import numpy as np
import pytest

from hpe_core.analysis.health import MEASURES
from pdf_checks import captions, fonts, needs_poppler, orphan_captions, page_texts, rasterise, row_runs, words
from hpe_core.cli import main
from hpe_core.datasets import open_dataset
from hpe_core.predictions import Prediction

DEMO_CKPT = Path(__file__).resolve().parents[2] / "resources" / "demo" / "simclr_regress2.pt"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A synthetic set (panoptic19, 8 poses x 2 cameras, several actions), our .npz of noisy poses
    and the same poses as a VideoPose3D-style .npy in metres, and a full report of the demo
    checkpoint and both files."""
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    root = tmp_path_factory.mktemp("report")
    synthesize(SynthSpec(root / "ds", poses=8, cameras=2, size=32, subjects=2, seed=4), NullProgress())
    ds = open_dataset(root / "ds")
    rng = np.random.default_rng(5)
    poses = np.round(ds.joints_3d + rng.normal(scale=40.0, size=ds.joints_3d.shape))
    Prediction(joints_3d=poses, frame="camera").save(root / "ours.npz")
    np.save(root / "vp3d.npy", poses / 1000.0)
    code = main([str(a) for a in ("report", root / "ds", DEMO_CKPT, root / "ours.npz", root / "vp3d.npy",
                                  "--units", "m", "--split", "all", "--device", "cpu", "--out", root / "out")])
    assert code == 0
    return root, ds, poses


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path):
    with open(path, newline="") as fh:  # the protocol's manifest: '#' lines above the header
        rows = list(csv.reader(line for line in fh if not line.startswith("# ")))
    return rows[0][1:], {r[0]: [float(v) if v else None for v in r[1:]] for r in rows[1:]}


def test_tables_equal_hpe_evaluate(data, capsys):
    root, ds, _ = data
    models, table = read_csv(root / "out" / "tables" / "overall.csv")
    assert models == ["simclr_regress2", "ours", "vp3d"]
    for k, argv in enumerate([(DEMO_CKPT, root / "ds", "--device", "cpu"), ("--pred", root / "ours.npz", root / "ds"),
                              ("--pred", root / "vp3d.npy", root / "ds", "--units", "m")]):
        code, out, err = run(capsys, "evaluate", *argv, "--split", "all", "--json")
        assert code == 0, err
        m = json.loads(out)["metrics"]
        for row, key in (("MPJPE (mm)", "mpjpe"), ("PA-MPJPE (mm)", "pa_mpjpe"), ("N-MPJPE (mm)", "n_mpjpe"),
                         ("Mean distance (mm)", "mean_distance"), ("Bone length error (mm)", "bone_length_error"),
                         ("PCK@150mm (fraction)", "pck3d"), ("AUC (fraction)", "auc3d")):
            assert table[row][k] == m[key], (row, models[k])  # the same float, exactly
    # the array file in metres holds the npz's whole-millimetre poses: identical numbers
    for row, values in table.items():
        assert values[1] == values[2], row


def test_per_action_means_by_hand(data):
    root, ds, poses = data
    models, table = read_csv(root / "out" / "tables" / "per_action_mpjpe.csv")
    values, names = ds.labels("action")
    r = ds.skeleton.root
    p = poses.astype(np.float32).astype(np.float64)  # as stored in the .npz
    g = ds.joints_3d.astype(np.float64)
    err = np.linalg.norm((p - p[:, r:r + 1]) - (g - g[:, r:r + 1]), axis=-1)  # (N, J)
    present = np.unique(values)
    assert len(present) >= 2 and len(table) == len(present) + 1
    for a in present:
        assert table[names[a]][1] == pytest.approx(err[values == a].mean(), rel=1e-12)
    assert table["All (pooled)"][1] == pytest.approx(err.mean(), rel=1e-12)


def test_latex_is_well_formed_and_bolds_the_best(data):
    root, _, _ = data
    for tex in sorted((root / "out" / "tables").glob("*.tex")):
        text = tex.read_text()
        depth = 0
        for ch in re.sub(r"\\[{}]", "", text):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, tex
        assert depth == 0, tex
        assert text.index(r"\toprule") < text.index(r"\midrule") < text.index(r"\bottomrule")
        assert text.count(r"\begin{") == text.count(r"\end{") == 2
        columns = text.split(r"\toprule", 1)[1].split(r"\midrule")[0].count("&")  # 3 models; health: 1
        assert columns == (1 if tex.stem == "health" else 3)
        body = text.split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
        for line in body.splitlines():
            if line.strip() and not line.startswith("\\midrule"):
                assert line.count("&") == columns and line.endswith(r"\\"), line
    overall = (root / "out" / "tables" / "overall.tex").read_text()
    mpjpe_line = next(line for line in overall.splitlines() if line.startswith("MPJPE"))
    _, table = read_csv(root / "out" / "tables" / "overall.csv")
    best = int(np.argmin(table["MPJPE (mm)"]))
    assert mpjpe_line.split(" & ")[1 + best].startswith(r"\textbf{")
    if shutil.which("pdflatex"):
        doc = root / "tables.tex"
        doc.write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n" +
                       "".join(t.read_text() for t in sorted((root / "out" / "tables").glob("*.tex"))) +
                       "\\end{document}\n")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=root,
                              capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_figures_and_documents_are_valid_files(data):
    root, _, _ = data
    out = root / "out"
    names = {"per_joint_error", "pck_curve", "error_histogram", "error_by_camera", "embedding", "conv1_filters"}
    for size, expected in (("1col", names), ("2col", names | {"worst_gallery", "best_median_worst"})):
        assert {p.stem for p in (out / "figures" / size).iterdir()} == expected
        for name in expected:
            png = cv2.imread(str(out / "figures" / size / f"{name}.png"), cv2.IMREAD_UNCHANGED)
            assert png is not None and png.ndim == 3 and min(png.shape[:2]) > 100
            assert png[..., :3].std() > 1.0  # something is drawn
            svg = ET.parse(out / "figures" / size / f"{name}.svg").getroot()
            assert svg.tag.endswith("svg") and len(list(svg.iter())) > 20
            pdf = (out / "figures" / size / f"{name}.pdf").read_bytes()
            assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and _pdf_pages(pdf) == 1
            assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType fonts embedded
    html = (out / "report.html").read_text()
    assert html.count("<table>") == 4 and html.count("<img src='figures/2col/") == 8  # overall, 2 per action, health
    for src in re.findall(r"<img src='([^']+)'", html):
        assert (out / src).is_file()


@needs_poppler
def test_pdfs_rasterise(data, tmp_path):
    """report.pdf and every figure PDF rasterised by poppler: each page an image with something drawn."""
    root, _, _ = data
    out = root / "out"
    pdfs = [out / "report.pdf"] + sorted((out / "figures").glob("*/*.pdf"))
    assert len(pdfs) == 1 + 6 + 8
    for k, pdf in enumerate(pdfs):
        pages = rasterise(pdf, tmp_path / str(k))
        assert len(pages) == (len(page_texts(pdf)) if pdf.name == "report.pdf" else 1), pdf
        for page in pages:
            assert page is not None and min(page.shape[:2]) > 20, pdf
            assert page.std() > 1.0 and (page < 128).any(), pdf  # not a blank page


#: words each figure draws itself (an axis label, a title): found on the page of its caption
FIGURE_WORDS = {"per_joint_error": "Neck", "pck_curve": "threshold (mm)", "error_histogram": "samples",
                "error_by_camera": "camera", "worst_gallery": "24 worst samples", "best_median_worst": "median",
                "embedding": "silhouette by action", "conv1_filters": "low-pass"}


@needs_poppler
def test_report_pdf_is_typeset_with_tables_and_each_figure_beside_its_caption(data, tmp_path):
    """Issue 29 item 9: tables as table rows (the best bold, a not-meaningful value grey), each
    figure on a page of its own with its caption, fonts embedded."""
    root, _, _ = data
    pdf = root / "out" / "report.pdf"
    assert all(embedded for _, embedded in fonts(pdf)) and fonts(pdf)
    pages = page_texts(pdf)
    models, table = read_csv(root / "out" / "tables" / "overall.csv")
    cells = [f"{v:.1f}" for v in table["PA-MPJPE (mm)"]]
    assert re.search(r"^\s*PA-MPJPE \(mm\)\s+" + r"\s+".join(map(re.escape, cells)) + r"\s*$", pages[0], re.M)
    assert re.search(r"^\s+simclr_regress2\s+ours\s+vp3d\s*$", pages[0], re.M)  # the header row
    runs = words(pdf)
    pa = row_runs(runs, "PA-MPJPE (mm)")[1:]
    assert [w["text"] for w in pa] == cells
    assert [w["bold"] for w in pa] == [v == min(cells, key=float) for v in cells]  # the best bold (a tie: both)
    mpjpe = row_runs(runs, "MPJPE (mm)")[1:]  # the rotation-aligned demo head's raw MPJPE: grey, not bold
    assert mpjpe[0]["text"] == f"{table['MPJPE (mm)'][0]:.1f}†" and mpjpe[0]["colour"] == "#787878"
    assert not mpjpe[0]["bold"] and [w["colour"] for w in mpjpe[1:]] == ["#000000"] * 2
    figures = [(n, k, p) for p, text in enumerate(pages) for kind, k, n in captions(text) if kind == "Figure"]
    html = (root / "out" / "report.html").read_text()
    titles = [unescape(t) for t in re.findall(r"<figcaption>(.+?) \(PDF, SVG, PNG", html)]
    assert [n for n, _, _ in figures] == titles and [k for _, k, _ in figures] == list(range(1, len(titles) + 1))
    assert len({p for _, _, p in figures}) == len(figures)  # a page of its own each
    assert orphan_captions(pages) == []
    names = re.findall(r"<img src='figures/2col/(\w+)\.svg'", html)
    for (title, _, page), name in zip(figures, names):
        assert FIGURE_WORDS[name] in pages[page], (name, page)  # the figure is on its caption's page
        assert [c for c in captions(pages[page]) if c[0] == "Table"] == []


def test_provenance_and_rerun_reproduce_the_tables(data, capsys):
    root, ds, _ = data
    prov = json.loads((root / "out" / "provenance.json").read_text())
    assert prov["samples"] == list(range(len(ds))) and prov["seed"] == 0 and prov["protocol"]["name"] == "standard"
    assert set(prov["versions"]) >= {"hpe-studio", "torch", "numpy"}
    assert [len(i["sha256"]) for i in prov["inputs"]] == [64, 64, 64] and len(prov["dataset"]["fingerprint"]) == 64
    assert prov["command"][:2] == ["hpe", "report"]
    code, _, err = run(capsys, "report", "--rerun", root / "out" / "provenance.json", "--out", root / "again")
    assert code == 0, err
    for f in sorted((root / "out" / "tables").iterdir()) + [root / "out" / "metrics.json"]:
        assert (root / "again" / f.relative_to(root / "out")).read_bytes() == f.read_bytes(), f.name
    # a subset by --max-samples is stored as a sample list and reproduced
    code, _, err = run(capsys, "report", root / "ds", root / "ours.npz", "--max-samples", "5", "--seed", "3",
                       "--split", "all", "--no-figures", "--out", root / "sub")
    assert code == 0, err
    assert len(json.loads((root / "sub" / "provenance.json").read_text())["samples"]) == 5
    code, _, err = run(capsys, "report", "--rerun", root / "sub" / "provenance.json", "--out", root / "sub2")
    assert code == 0, err
    assert (root / "sub2" / "tables" / "overall.csv").read_bytes() == (root / "sub" / "tables" / "overall.csv").read_bytes()


def test_bad_input_exits_2_with_one_line(data, capsys, tmp_path):
    root, ds, poses = data
    np.save(tmp_path / "short.npy", poses[:-1] / 1000.0)
    cases = [(("report", root / "ds", tmp_path / "short.npy", "--units", "m", "--out", tmp_path / "o"), "holds 15 samples"),
             (("report", root / "ds", root / "ours.npz", "--protocol", "h37m", "--out", tmp_path / "o"), "unknown protocol"),
             (("report", root / "ds", root / "ours.npz"), "--out DIR is required"),
             (("report", root / "ds", tmp_path / "none.npz", "--out", tmp_path / "o"), "no such"),
             (("report", "--rerun", tmp_path / "short.npy"), "provenance")]
    for argv, message in cases:
        code, out, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err, (argv, err)
    # an input changed since the report: the rerun refuses
    changed = tmp_path / "changed"
    shutil.copytree(root / "out", changed, ignore=shutil.ignore_patterns("figures"))
    prov = json.loads((changed / "provenance.json").read_text())
    prov["inputs"][1]["sha256"] = "0" * 64
    (changed / "provenance.json").write_text(json.dumps(prov))
    code, _, err = run(capsys, "report", "--rerun", changed / "provenance.json")
    assert code == 2 and "changed since the report" in err and err.count("\n") == 1


def test_hypotheses_and_2d_rows_and_cancel(data, tmp_path):
    from hpe_core.progress import Cancelled, RecordingProgress
    from hpe_core.report.run import ReportSpec, build_report

    root, ds, poses = data
    rng = np.random.default_rng(1)
    hyp = poses[:, None] + rng.normal(scale=30.0, size=(len(poses), 3) + poses.shape[1:])
    j2d = ds.joints_2d + rng.normal(scale=2.0, size=ds.joints_2d.shape)
    Prediction(joints_3d=poses, frame="camera", hypotheses=hyp, joints_2d=j2d).save(tmp_path / "hyp.npz")
    result = build_report(ReportSpec(str(root / "ds"), (str(tmp_path / "hyp.npz"),), str(tmp_path / "o"),
                                     split="all", figures=False))
    _, table = read_csv(tmp_path / "o" / "tables" / "overall.csv")
    r = ds.skeleton.root
    h = hyp.astype(np.float32).astype(np.float64)
    g = ds.joints_3d.astype(np.float64)
    per = np.linalg.norm((h - h[:, :, r:r + 1]) - (g - g[:, r:r + 1])[:, None], axis=-1).mean(-1)  # (N, K)
    assert table["MPJPE mean of K (mm)"][0] == pytest.approx(per.mean(), rel=1e-12)
    assert table["MPJPE best of K (mm)"][0] == pytest.approx(per.min(1).mean(), rel=1e-12)
    assert 0 < table["2D PCK@0.05 (fraction)"][0] <= 1 and table["EPE (px)"][0] > 0
    assert result["samples"] == len(ds)
    with pytest.raises(Cancelled):
        build_report(ReportSpec(str(root / "ds"), (str(DEMO_CKPT),), str(tmp_path / "c"), split="all",
                                device="cpu", batch_size=2), RecordingProgress(cancel_after=1))
    assert not (tmp_path / "c" / "report.html").exists() and not (tmp_path / "c" / "tables").exists()


def test_two_checkpoints_get_a_cka_heatmap_and_figures_of_both(data, tmp_path):
    from hpe_core.report.run import ReportSpec, build_report

    root, ds, _ = data
    other = DEMO_CKPT.with_name("simsiam_regress2.pt")
    result = build_report(ReportSpec(str(root / "ds"), (str(DEMO_CKPT), str(other)), str(tmp_path / "o"),
                                     split="all", max_samples=10, device="cpu"))
    assert result["models"] == ["simclr_regress2", "simsiam_regress2"]
    models, health = read_csv(tmp_path / "o" / "tables" / "health.csv")  # the encoders' health, both models
    assert models == result["models"] and health["RankMe · encoder"][0] >= 1.0
    assert set(health) == {f"{t} · encoder" for k, t in MEASURES.items() if k != "knn_chance"}
    svg = ET.parse(tmp_path / "o" / "figures" / "2col" / "cka.svg").getroot()
    assert svg.tag.endswith("svg")
    png = cv2.imread(str(tmp_path / "o" / "figures" / "2col" / "embedding.png"))
    assert png is not None and png.std() > 1.0
    assert _pdf_pages((tmp_path / "o" / "figures" / "2col" / "cka.pdf").read_bytes()) == 1

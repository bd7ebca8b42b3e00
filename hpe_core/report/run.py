"""``build_report(spec, progress)``: tables, figures, report.html / report.pdf and provenance.json.

Every model column is scored on the same samples of the dataset (``split``, optionally a
seeded subset of ``max_samples``, or exactly ``samples`` on a rerun). The report is written into
a hidden folder that takes the output folder's place at the end; a cancelled or failed run
(``progress.cancelled()``, Ctrl-C, a full disk) leaves the previous folder as it was.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError, existing_path
from hpe_core.progress import NullProgress, check_cancelled, stage


@dataclass(frozen=True)
class ReportSpec:
    dataset: str
    inputs: tuple[str, ...]
    out: str
    split: str = "test"
    max_samples: int | None = None
    seed: int = 0
    protocol: str = "standard"
    joints: int | None = None  # the protocol's joint variant of the per-group tables (default: its first)
    units: str | None = None
    device: str = "cpu"
    precision: str = "fp32"
    batch_size: int = 32
    figures: bool = True
    analysis: bool = True  # embedding / silhouette, conv1 filters, CKA of the checkpoints
    samples: tuple[int, ...] | None = None  # exact dataset rows (a rerun); overrides split/max_samples
    command: tuple[str, ...] = field(default_factory=tuple)


#: what a report folder holds: a folder holding anything else is not replaced by a report
REPORT_ENTRIES = frozenset({"tables", "figures", "report.html", "report.pdf", "metrics.json", "provenance.json"})


def build_report(spec: ReportSpec, progress=None) -> dict:
    """Write the report into ``spec.out``; returns ``{"tables": {...}, "files": [...], "samples": n}``.

    Everything is written into a hidden folder beside ``spec.out`` that takes its place in one
    step at the end (:func:`hpe_core.atomic.atomic_folder`): a folder under the final name is a
    finished report, the previous one stays whole until then, and a failure leaves no new file."""
    from hpe_core.atomic import atomic_folder
    from hpe_core.report import tables
    from hpe_core.report.scoring import load_columns, score_column

    progress = progress or NullProgress()
    out = check_report_folder(spec.out)
    dataset, rows = _dataset_and_rows(spec)
    columns = load_columns(list(spec.inputs), dataset, rows, spec.units, spec.device, spec.precision,
                           spec.batch_size, stage(progress, 0.0, 0.6))
    progress.set_status("scoring")
    for column in columns:
        check_cancelled(progress)
        score_column(column, dataset, rows)
    made, scored, manifest = _protocol_tables(spec, columns, dataset, rows)
    if spec.analysis:
        made += _health_tables(spec, columns, rows, stage(progress, 0.6, 0.62))
    with atomic_folder(out) as tmp:
        written = _write_tables(tmp, made, columns, scored)
        figures = []
        if spec.figures:
            from hpe_core.report.figures import make_figures

            figures = make_figures(columns, dataset, rows, tmp / "figures", stage(progress, 0.6, 0.95),
                                   spec.analysis, spec.seed, spec.device)
            written += [p for f in figures for p in f["files"]]
        check_cancelled(progress)
        progress.set_status("writing report.html / report.pdf")
        written += _write_documents(spec, tmp, made, figures, columns, dataset, rows, manifest)
        written = [out / p.relative_to(tmp) for p in written]
    progress.set_progress(1.0)
    return {"out": str(out), "samples": len(rows), "tables": {t.key: tables.markdown(t) for t in made},
            "files": [str(p) for p in written], **_verdict(columns, spec.protocol)}


def _verdict(columns: list, protocol: str) -> dict:
    """The models, the error measure each is read by, and the best by it (one line)."""
    from hpe_core.report.document import verdict

    return {"models": [c.name for c in columns], "verdict": verdict(columns, protocol),
            "error_measure": {c.name: c.measure.name for c in columns}}


def check_report_folder(out: str | Path) -> Path:
    """``out`` when a report may be written there: a new or empty folder, or a previous report
    (which the new one replaces whole), in a folder where files can be created. Checked before
    any work, so a read-only or wrong folder fails at once."""
    from hpe_core.atomic import check_writable

    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: a file, not a folder")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in REPORT_ENTRIES)
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            raise InputError(f"--out {out}: holds files that are not a report's ({', '.join(foreign[:3])}{more}); "
                             "give a new or empty folder, or a previous report's folder (replaced whole)")
    check_writable(out.parent, out)
    return out


def _protocol_tables(spec: ReportSpec, columns: list, dataset, rows) -> tuple[list, dict, dict]:
    """``(tables, {column: {joints: protocol scores}}, manifest)``: ``standard``'s tables of the
    columns' scores, or the named protocol's (:mod:`hpe_core.report.protocol_tables`), each with the
    protocol's manifest."""
    from hpe_core.datasets.fingerprint import annotations_fingerprint
    from hpe_core.inference.protocol_scoring import protocol_manifest
    from hpe_core.protocols import get_protocol
    from hpe_core.report import tables
    from hpe_core.report.protocol_tables import protocol_tables, score_columns

    protocol, fingerprint = get_protocol(spec.protocol), annotations_fingerprint(dataset)
    if protocol.name == "standard":
        manifest = protocol_manifest(protocol, None, dataset, None, fingerprint)
        return tables.with_manifest(tables.all_tables(columns), manifest), {}, manifest
    scored = score_columns(columns, dataset, rows, protocol, fingerprint)
    made = protocol_tables(protocol, scored, spec.joints)
    return made, scored, made[0].manifest


def _health_tables(spec: ReportSpec, columns: list, rows, progress) -> list:
    """The health table of the checkpoints with an embedding layer (e.g. a regressor's encoder), on
    the report's samples (:mod:`hpe_core.analysis.health_checkpoints`)."""
    from hpe_core.analysis.health_checkpoints import HealthSpec, checkpoint_health, has_embedding_layer
    from hpe_core.report import tables

    judged = {c.source: c.name for c in columns if c.kind == "checkpoint" and has_embedding_layer(c.source)}
    if not judged:
        return []
    result = checkpoint_health(HealthSpec(tuple(judged), spec.dataset, max_samples=None, seed=spec.seed,
                                          device=spec.device, precision=spec.precision,
                                          indices=tuple(int(r) for r in rows)), progress)
    table = tables.health_table(result.to_dict(), judged)
    return [table] if table is not None else []


def _dataset_and_rows(spec: ReportSpec):
    """The dataset (checked to have 3D joints, every input checked to exist) and the rows to score."""
    from hpe_core.analysis.features import select_indices
    from hpe_core.datasets import open_dataset
    from hpe_core.inference.protocol_scoring import check_protocol

    check_protocol(spec.protocol, spec.joints)
    if not spec.inputs:
        raise InputError("give at least one checkpoint or prediction file")
    for source in spec.inputs:
        existing_path(source, "checkpoint or prediction file")
    dataset = open_dataset(existing_path(spec.dataset, "dataset"))
    if dataset.joints_3d is None:
        raise InputError(f"{spec.dataset}: has no 3D joints to evaluate against")
    check_protocol(spec.protocol, spec.joints, dataset.skeleton.name)
    if spec.samples is not None:
        return dataset, np.asarray(spec.samples, np.int64)
    return dataset, select_indices(dataset, spec.split, spec.max_samples, spec.seed)


def _write_tables(out: Path, made: list, columns: list, scored: dict) -> list[Path]:
    """``tables/<key>.{md,tex,csv}`` of every table and ``metrics.json`` of every column (with its
    protocol scores ``scored``, per joint variant)."""
    from hpe_core.atomic import atomic_write
    from hpe_core.report import tables

    written = []
    for t in made:
        for ext, text in (("md", tables.markdown(t)), ("tex", tables.latex(t)), ("csv", tables.csv_text(t))):
            written.append(atomic_write(out / "tables" / f"{t.key}.{ext}", text))
    scores = {c.name: {"source": c.source, "kind": c.kind, "overall": {k: v for k, v in c.overall.items()
                                                                       if k not in ("per_sample", "rows")},
                       "per_action": c.per_action, "two_d": c.two_d, "hypotheses": c.hypotheses,
                       "skipped": c.skipped, **({"protocol": scored[c.name]} if c.name in scored else {})}
              for c in columns}
    written.append(atomic_write(out / "metrics.json", json.dumps(scores, indent=1, allow_nan=True) + "\n"))
    return written


def _write_documents(spec: ReportSpec, out: Path, made: list, figures: list, columns: list, dataset,
                     rows, manifest: dict) -> list[Path]:
    """``provenance.json`` (the command, settings, inputs and samples), ``report.html`` and ``report.pdf``."""
    from hpe_core.atomic import atomic_write
    from hpe_core.report import provenance
    from hpe_core.report.document import write_html, write_pdf
    from hpe_core.protocols import get_protocol

    settings = {k: v for k, v in asdict(spec).items() if k not in ("samples", "command", "out")}
    settings["inputs"] = list(spec.inputs)
    doc = provenance.make(list(spec.command), settings, dataset, list(spec.inputs), rows,
                          get_protocol(spec.protocol).definition(), manifest)
    return [atomic_write(out / "provenance.json", json.dumps(doc, indent=1) + "\n"),
            write_html(out / "report.html", made, figures, doc, columns),
            write_pdf(out / "report.pdf", made, figures, doc, columns)]


def rerun_spec(path: str | Path, out: str | None) -> ReportSpec:
    """The :class:`ReportSpec` of a ``provenance.json``, its inputs checked unchanged."""
    from hpe_core.datasets import open_dataset
    from hpe_core.report import provenance

    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"--rerun {path}: no such file")
    doc = provenance.read(path)
    s = doc["settings"]
    dataset = open_dataset(doc["dataset"]["path"])
    provenance.check_inputs(doc, dataset, path)
    return ReportSpec(dataset=doc["dataset"]["path"], inputs=tuple(i["path"] for i in doc["inputs"]),
                      out=out or str(path.parent), split=s["split"], max_samples=s["max_samples"], seed=s["seed"],
                      protocol=s["protocol"], joints=s.get("joints"), units=s["units"], device=s["device"],
                      precision=s["precision"],
                      batch_size=s["batch_size"], figures=s["figures"], analysis=s.get("analysis", True),
                      samples=tuple(doc["samples"]),
                      command=tuple(doc["command"]))

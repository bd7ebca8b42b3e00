"""Label-free choice of an encoder (issue 31): do the health measures order the demo encoders like
the 2-layer heads trained on them?

``health_choice(work, collapsed, progress)`` judges six encoders of the demo's shape (ResNet18, width
16, 96 px) on seed 000's demo set (split by subject): the shipped SimCLR and SimSiam, the section-6
retrained SimCLR (``simclr_retrained_cpu`` from the shipped SimCLR, :data:`~hpe_core.studies.demo.RETRAIN`),
SimCLR after one epoch of the demo recipe (the earlier epoch), an untrained encoder (the control of
the demo: the 2-layer head's run with ``regression.encoder=random``, whose frozen encoder it keeps),
and a collapsed SimSiam (``collapsed``: a run with ``contrastive.stop_gradient=false``). Missing runs
are trained in ``work`` (kept there and reused). Each encoder's 2-layer head (``regress_2layer_cpu``)
gives its test PA-MPJPE: the shipped ``metrics.json`` figure where the shipped encoder was judged, a
head trained here otherwise. The health measures (:mod:`hpe_core.analysis.health`) of each encoder
layer come from :func:`~hpe_core.analysis.health_checkpoints.checkpoint_health` on 2,000 samples;
then Spearman's rank correlation of each measure with the heads' errors.
"""

from __future__ import annotations

import json
from pathlib import Path

from hpe_core import resources_dir
from hpe_core.progress import NullProgress, stage

SHIPPED = ("simclr", "simsiam")  # encoders whose 2-layer head is in metrics.json
ORDER = ("simclr", "simsiam", "simclr_retrained", "simclr_epoch1", "untrained", "collapsed")


def study_steps(work: Path, collapsed: Path, dataset: Path) -> list:
    """The runs the study needs: two encoders, then the heads on the encoders with no shipped head."""
    from hpe_core.studies.demo import RETRAIN, SIMCLR_RECIPE
    from hpe_core.studies.sequence import Step
    from hpe_core.training.config import load_config

    presets, demo = resources_dir() / "presets", resources_dir() / "demo"
    data = [f"data.path={dataset}"]
    steps = [Step("simclr_retrained", load_config(presets / "simclr_retrained_cpu.yaml", [
                 *SIMCLR_RECIPE, *RETRAIN, *data, f"model.init={demo / 'simclr.pt'}",
                 f"train.output={work / 'simclr_retrained'}"])),
             Step("simclr_epoch1", load_config(presets / "simclr_cpu.yaml", [
                 *SIMCLR_RECIPE, "train.epochs=1", *data, f"train.output={work / 'simclr_epoch1'}"]))]
    heads = {"simclr_retrained": ["regression.encoder={simclr_retrained}", "regression.encoder_family=simclr"],
             "simclr_epoch1": ["regression.encoder={simclr_epoch1}", "regression.encoder_family=simclr"],
             "untrained": ["regression.encoder=random", "model.width=16"],
             "collapsed": [f"regression.encoder={collapsed}", "regression.encoder_family=simsiam"]}
    for name, source in heads.items():
        def make(best, source=source, name=name):
            sets = [s.format(**{k: str(v) for k, v in best.items()}) for s in source]
            return load_config(presets / "regress_2layer_cpu.yaml", [*data, *sets,
                                                                    f"train.output={work / (name + '_head')}"])
        steps.append(Step(f"{name}_head", make))
    return steps


def health_choice(work: Path, collapsed: Path, progress=None, max_samples: int = 2000) -> dict:
    """Train what is missing, judge the six encoders, correlate; returns the study's figures."""
    from hpe_core.analysis.health_checkpoints import HealthSpec, checkpoint_health
    from hpe_core.datasets.demo import SEED000_DATASET, demo_dataset_path
    from hpe_core.studies.sequence import run_sequence

    progress = progress or NullProgress()
    dataset = demo_dataset_path(SEED000_DATASET)
    runs = run_sequence(study_steps(Path(work), Path(collapsed), dataset), stage(progress, 0.0, 0.8),
                        what="health study", reuse=True)
    demo = resources_dir() / "demo"
    encoders = {"simclr": demo / "simclr.pt", "simsiam": demo / "simsiam.pt",
                "simclr_retrained": runs["simclr_retrained"].checkpoint,
                "simclr_epoch1": runs["simclr_epoch1"].checkpoint,
                "untrained": runs["untrained_head"].checkpoint,  # a regressor: its frozen encoder is untrained
                "collapsed": Path(collapsed)}
    shipped = json.loads((demo / "metrics.json").read_text())["heads"]
    heads = {name: (shipped[name]["2"]["pa_mpjpe"] if name in SHIPPED else _head_error(runs[f"{name}_head"].checkpoint))
             for name in ORDER}
    result = checkpoint_health(HealthSpec(tuple(str(encoders[n]) for n in ORDER), dataset, ("encoder",),
                                          max_samples, device="cpu"), stage(progress, 0.8, 1.0))
    rows = {name: {**row, "head_pa_mpjpe": heads[name]} for name, row in zip(ORDER, result.rows)}
    return {"encoders": {n: str(p) for n, p in encoders.items()}, "rows": rows,
            "spearman": correlations(rows), "samples": result.samples, "fitted": result.fitted,
            "scored": result.scored}


def _head_error(checkpoint: Path) -> float:
    from hpe_core.training.checkpoints import read_raw

    return float(read_raw(checkpoint)["training"]["final"]["test"]["pa_mpjpe"])


def correlations(rows: dict) -> dict[str, float]:
    """Spearman's rho of each measure with the heads' PA-MPJPE over the encoders (scipy); a measure
    missing for one encoder or equal for all has none."""
    from scipy.stats import spearmanr

    head = [r["head_pa_mpjpe"] for r in rows.values()]
    out = {}
    for measure in ("rankme", "spread", "align", "uniform", "knn", "xview_top1", "probe_pa_mpjpe"):
        values = [r.get(measure) for r in rows.values()]
        if all(v is not None for v in values) and len(set(values)) > 1:
            out[measure] = float(spearmanr(values, head).statistic)
    return out


def markdown(study: dict) -> str:
    """The README's table: one row per encoder, then the correlations."""
    cols = (("head_pa_mpjpe", "2-layer head PA-MPJPE (mm)", 1), ("probe_pa_mpjpe", "probe PA-MPJPE (mm)", 1),
            ("rankme", "RankMe", 1), ("knn", "kNN", 3), ("xview_top1", "x-view top-1", 3), ("spread", "spread", 3),
            ("align", "align", 3), ("uniform", "uniform", 3))
    lines = ["| encoder | " + " | ".join(c[1] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in study["rows"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:.{d}f}" for k, _, d in cols) + " |")
    rho = study["spearman"]
    lines += ["", "Spearman's rho with the heads' PA-MPJPE (a good measure of quality is negative, the probe's "
              "error positive): " + ", ".join(f"{k} {v:+.2f}" for k, v in rho.items())]
    return "\n".join(lines)

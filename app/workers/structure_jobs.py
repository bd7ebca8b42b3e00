"""The structure of an embedding, for the explorer and Compare: the silhouette of the dataset's
labels (action, camera, subject, pose) beside the k-means clusters', the silhouette over
k = 2..20, the collapse check (:mod:`hpe_core.analysis.structure`) and the health measures
(:mod:`hpe_core.analysis.health`: RankMe, spread, alignment, uniformity, kNN, retrieval, 3D probe), on the
features the view embedded (read back from the feature cache). A background job with progress;
each model's result goes out as ``("structure", key, StructureResult)`` when it is ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Job = Callable[[Any], Any]
MAX_K = 20


@dataclass
class StructureResult:
    layer: str
    samples: int
    clusters: float | None            # silhouette of the k-means clusters of the view's k
    labels: dict[str, float | None]   # {"action": s, "camera": s, "subject": s, "pose_id": s}
    scan: Any                         # hpe_core.analysis.SilhouetteScan (k = 2..20)
    collapse: Any                     # hpe_core.analysis.CollapseStats
    health: dict = field(default_factory=dict)  # hpe_core.analysis.health.health_measures

    def to_dict(self) -> dict:
        return {"layer": self.layer, "samples": self.samples, "clusters": self.clusters, "labels": self.labels,
                "scan": self.scan.to_dict(), "collapse": self.collapse.to_dict(), "health": self.health}


def structure_job(requests: dict, clusters: dict[str, float | None] | None = None) -> Job:
    """``requests``: {key: EmbedRequest} (the explorer's one, or Compare's A and B); ``clusters``:
    the k-means silhouettes the view already has. Returns {key: StructureResult}."""

    def run(progress):
        from hpe_core.analysis import collapse_stats, compute_embeddings, dataset_label_silhouettes, silhouette_scan
        from hpe_core.analysis.health import dataset_rows, health_measures
        from hpe_core.devices import resolve_device
        from hpe_core.progress import stage

        out = {}
        n = len(requests)
        for i, (key, req) in enumerate(requests.items()):
            span = (i / n, (i + 1) / n)

            def part(a, b, span=span):
                return stage(progress, span[0] + a * (span[1] - span[0]), span[0] + b * (span[1] - span[0]))

            progress.set_status(f"structure of {req.layer} ({key.upper()})")
            emb = compute_embeddings(req.embed_spec((req.layer,)), part(0.0, 0.1))  # from the cache
            x = np.asarray(emb.features[req.layer], np.float32)
            device = str(resolve_device(req.device))
            labels = dataset_label_silhouettes(x, emb.dataset, emb.indices, device=device, progress=part(0.1, 0.25))
            ks = range(2, min(MAX_K, len(x) - 1) + 1)
            scan = silhouette_scan(x, ks, seed=req.seed, device=device, progress=part(0.25, 1.0))
            health = health_measures(x, dataset_rows(emb.dataset, emb.indices, "auto", req.seed), device)
            out[key] = StructureResult(req.layer, len(x), (clusters or {}).get(key), labels, scan, collapse_stats(x),
                                       health)
            progress.partial(("structure", key, out[key]))
        return out

    return run

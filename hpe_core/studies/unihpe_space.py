"""UniHPE's shared embedding space over a dataset: the image, 2D-pose and 3D-pose embedding of
each sample, projected together (the paper's Fig. 6), and cross-modal retrieval in it.

    space = shared_space(SharedSpaceSpec(checkpoint, dataset, max_samples=200), progress)
    space.coords[space.modality == 0]          # (N, dims) the image embeddings' positions
    hits = space.neighbours(index, "pose3d")    # [(dataset index, cosine), ...] nearest first
    ranks = retrieval_ranks(space.embeddings["image"], space.embeddings["pose3d"])
    write_shared_space(space, "space.npz")      # what ``hpe shared-space --out`` writes

Embeddings are L2-normalised, so the cosine similarity is a dot product; the projection (t-SNE
by default) sees the ``3N`` unit rows of all modalities together, so distances across modalities
are the same euclidean (= cosine) distances as within one. Joints that are not visible are
hidden from the pose encoders (NaN), as in training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, stage

MODALITIES = ("image", "pose2d", "pose3d")
LABELS = {"image": "image", "pose2d": "2D pose", "pose3d": "3D pose"}


@dataclass(frozen=True)
class SharedSpaceSpec:
    checkpoint: str | Path
    dataset: str | Path
    max_samples: int | None = 200  # a seeded random subset of the split, in dataset order
    split: str = "all"
    method: str = "tsne"
    dims: int = 2
    seed: int = 0
    batch_size: int = 64
    device: str = "cpu"
    options: dict = field(default_factory=dict)  # passed to the projection (perplexity, ...)


@dataclass
class SharedSpace:
    indices: np.ndarray                 # (N,) dataset positions of the samples
    embeddings: dict[str, np.ndarray]   # modality -> (N, D) float32 unit rows
    coords: np.ndarray                  # (3N, dims): the image rows, then the 2D, then the 3D rows
    modality: np.ndarray                # (3N,) int8, index into MODALITIES
    method: str
    joints_3d: np.ndarray | None = None  # (N, J, 3) mm ground truth of the samples (for drawing)
    info: dict = field(default_factory=dict)

    def coords_of(self, modality: str) -> np.ndarray:
        return self.coords[self.modality == MODALITIES.index(modality)]

    def row_of(self, index: int) -> int:
        """The row of dataset position ``index`` (-1 when it is not among the samples)."""
        hit = np.flatnonzero(self.indices == int(index))
        return int(hit[0]) if len(hit) else -1

    def neighbours(self, index: int, target: str, source: str = "image", k: int = 5) -> list[tuple[int, float]]:
        """The ``k`` ``target`` embeddings nearest (cosine) to the ``source`` embedding of dataset
        sample ``index``, over every sample of the space: [(dataset index, cosine)], best first."""
        row = self.row_of(index)
        if row < 0:
            raise InputError(f"sample {index} is not among the {len(self.indices)} samples of this space")
        order, sims = retrieve(self.embeddings[source][row], self.embeddings[target], k)
        return [(int(self.indices[o]), float(s)) for o, s in zip(order, sims)]


def retrieve(query: np.ndarray, gallery: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``gallery`` (M, D) nearest to ``query`` (D,) by cosine similarity: ``(order (k,),
    cosine (k,))``, best first; ties keep the lower row first."""
    q = np.asarray(query, np.float64).reshape(-1)
    g = np.asarray(gallery, np.float64)
    if g.ndim != 2 or g.shape[1] != q.shape[0]:
        raise InputError(f"retrieval: a ({q.shape[0]},) query against a gallery of shape {g.shape}")
    sims = (g @ q) / np.maximum(np.linalg.norm(g, axis=1) * np.linalg.norm(q), 1e-12)
    order = np.argsort(-sims, kind="stable")[:max(int(k), 0)]
    return order, sims[order]


def retrieval_ranks(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(N,)`` rank of each row's own partner among ``target`` (M >= N rows, row i partners
    row i) by cosine to ``source[i]``: 0 when it is the nearest (as ``top1`` of
    :func:`hpe_core.training.crossmodal.cross_modal_sums`, which counts strictly nearer rows)."""
    a, b = _unit(source), _unit(target)
    sim = a @ b.T
    own = sim[np.arange(len(a)), np.arange(len(a))]
    return (sim > own[:, None]).sum(1)


def _unit(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def embed_modalities(predictor, dataset, rows: np.ndarray,
                     progress: ProgressSink | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The three embeddings of ``rows`` of ``dataset`` by a UniHPE
    :class:`~hpe_core.inference.Predictor` (:func:`hpe_core.inference.predict` of the images with
    their 2D and 3D joints): ``(indices (N,), {modality: (N, D)})`` (images that cannot be read are
    skipped, so ``indices`` may be shorter than ``rows``)."""
    from hpe_core.inference import collect, predict
    from hpe_core.studies.unihpe_eval import check_dataset

    check_dataset(predictor.model, dataset, "the shared space needs 2D and 3D joints")
    run = collect(predict(predictor, dataset, np.asarray(rows, np.int64), progress=progress,
                          inputs={"image", "pose2d", "pose3d"}), predictor)
    if not len(run):
        raise InputError(f"{dataset.path}: no readable sample among the {len(rows)} selected")
    embeddings = run.prediction.embeddings
    return np.asarray(run.frames, np.int64), {name: embeddings[name] for name in MODALITIES}


def project_shared(embeddings: dict[str, np.ndarray], method: str = "tsne", dims: int = 2, seed: int = 0,
                   progress: ProgressSink | None = None, **options) -> tuple[np.ndarray, np.ndarray]:
    """All modalities projected together: ``(coords (3N, dims), modality (3N,) int8)``."""
    from hpe_core.analysis.projections import project

    stacked = np.concatenate([np.asarray(embeddings[m], np.float32) for m in MODALITIES])
    modality = np.repeat(np.arange(len(MODALITIES), dtype=np.int8), [len(embeddings[m]) for m in MODALITIES])
    labels = modality if method == "lda" else None
    proj = project(stacked, method, dims, labels=labels, seed=seed, progress=progress, **options)
    return proj.coords.astype(np.float64), modality


def shared_space(spec: SharedSpaceSpec, progress: ProgressSink | None = None) -> SharedSpace:
    """Load, embed the samples in every modality and project them together (see module doc)."""
    from hpe_core.analysis.features import select_indices
    from hpe_core.datasets import open_dataset
    from hpe_core.inference import Predictor
    from hpe_core.models.checkpoint import load_checkpoint

    progress = progress or NullProgress()
    progress.set_status(f"Loading {Path(spec.checkpoint).name}")
    model, info = load_checkpoint(spec.checkpoint, device="cpu", expect_family="unihpe")
    predictor = Predictor(model, spec.device, batch_size=spec.batch_size, info=info)
    dataset = spec.dataset if hasattr(spec.dataset, "skeleton") else open_dataset(spec.dataset)
    rows = select_indices(dataset, spec.split, spec.max_samples, spec.seed)
    progress.set_status(f"Embedding {len(rows)} samples as image, 2D and 3D pose")
    indices, emb = embed_modalities(predictor, dataset, rows, stage(progress, 0.0, 0.4))
    progress.set_status(f"{spec.method.upper()} of the shared space ({3 * len(indices)} points)")
    coords, modality = project_shared(emb, spec.method, spec.dims, spec.seed, stage(progress, 0.4, 1.0),
                                      **spec.options)
    j3 = np.asarray(dataset.joints_3d)[indices].astype(np.float64)
    ranks = {f"{a}_{b}": retrieval_ranks(emb[a], emb[b]) for a, b in (("image", "pose2d"), ("image", "pose3d"),
                                                                      ("pose2d", "pose3d"))}
    summary = {"checkpoint": str(spec.checkpoint), "checkpoint_sha256": info.sha256,
               "samples": int(len(indices)), "method": spec.method, "dims": spec.dims,
               **{f"top1_{k}": float(np.mean(r == 0)) for k, r in ranks.items()},
               **{f"top5_{k}": float(np.mean(r < 5)) for k, r in ranks.items()}}
    return SharedSpace(indices, emb, coords, modality, spec.method, j3, summary)


def write_shared_space(space: SharedSpace, path: str | Path) -> Path:
    """``.npz`` of the space, atomically: ``coords`` (3N, dims), ``modality`` (3N,), ``indices``
    (N,), ``modalities`` (names), and the embeddings ``image``, ``pose2d``, ``pose3d`` (N, D)."""
    import io

    from hpe_core.atomic import atomic_write

    path = Path(path).expanduser()
    if path.suffix.lower() != ".npz":
        raise InputError(f"--out {path}: the shared space is written as .npz")
    if not path.parent.is_dir():
        raise InputError(f"--out {path}: folder {path.parent} does not exist")
    buf = io.BytesIO()
    np.savez(buf, coords=space.coords, modality=space.modality, indices=space.indices,
             modalities=np.asarray(MODALITIES, dtype=str), **space.embeddings)
    return atomic_write(path, buf.getvalue())

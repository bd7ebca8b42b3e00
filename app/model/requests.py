"""What the analysis views ask for: frozen request dataclasses (Qt-free), each able to say the
``hpe`` command line that prints the same numbers."""

from __future__ import annotations

from dataclasses import dataclass


def quote_path(path) -> str:
    import shlex

    return shlex.quote(str(path))


@dataclass(frozen=True)
class EmbedRequest:
    checkpoint: str
    dataset: str
    layer: str = "encoder"
    method: str = "pca"
    dims: int = 2
    clusters: int = 8
    color_by: str | None = None  # a dataset label (LDA's classes and a second silhouette)
    split: str = "all"
    max_samples: int | None = 2000
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    skip_list: str | None = None
    per_layer: bool = True  # also the silhouette of every other layer
    perplexity: float = 30.0  # t-SNE
    n_neighbors: int = 15  # UMAP
    min_dist: float = 0.1  # UMAP

    def options(self) -> dict:
        if self.method == "tsne":
            return {"perplexity": self.perplexity}
        if self.method == "umap":
            return {"n_neighbors": self.n_neighbors, "min_dist": self.min_dist}
        return {}

    def embed_spec(self, layers: tuple[str, ...]):
        from hpe_core.analysis import EmbedSpec

        return EmbedSpec(self.checkpoint, self.dataset, layers, self.split, self.max_samples, self.seed, None,
                         self.device, self.precision, skip_list=self.skip_list)

    def run_spec(self, layer: str, method: str | None = None, dims: int | None = None):
        from hpe_core.analysis import EmbedRunSpec
        from hpe_core.devices import resolve_device

        return EmbedRunSpec(self.embed_spec((layer,)), method=method or self.method, dims=dims or self.dims,
                            clusters=self.clusters, color_by=self.color_by, seed=self.seed,
                            device=str(resolve_device(self.device)),
                            options=self.options() if method in (None, self.method) else {})

    def command(self, layer: str | None = None) -> str:
        """The ``hpe embed`` command that prints the same numbers."""
        parts = ["hpe embed", quote_path(self.checkpoint), quote_path(self.dataset), f"--layer {layer or self.layer}",
                 f"--method {self.method}", f"--dims {self.dims}", f"--clusters {self.clusters}",
                 f"--split {self.split}", f"--seed {self.seed}", f"--device {self.device}"]
        if self.max_samples:
            parts.append(f"--max-samples {self.max_samples}")
        if self.color_by:
            parts.append(f"--color-by {self.color_by}")
        if self.method == "tsne":
            parts.append(f"--perplexity {self.perplexity:g}")
        if self.method == "umap":
            parts.append(f"--neighbors {self.n_neighbors} --min-dist {self.min_dist:g}")
        if self.precision != "fp32":
            parts.append(f"--precision {self.precision}")
        return " ".join(parts)


@dataclass(frozen=True)
class CompareRequest:
    checkpoint_a: str
    checkpoint_b: str
    dataset: str
    layer: str = "encoder"
    method: str = "pca"
    clusters: int = 8
    split: str = "test"
    max_samples: int | None = 1000
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    skip_list: str | None = None

    def embed_request(self, checkpoint: str) -> EmbedRequest:
        return EmbedRequest(checkpoint, self.dataset, self.layer, self.method, 2, self.clusters, None, self.split,
                            self.max_samples, self.seed, self.device, self.precision, self.skip_list, False)

    def command(self) -> str:
        parts = ["hpe compare", quote_path(self.checkpoint_a), quote_path(self.checkpoint_b), quote_path(self.dataset),
                 f"--split {self.split}", f"--clusters {self.clusters}", f"--seed {self.seed}",
                 f"--device {self.device}"]
        if self.max_samples:
            parts.append(f"--max-samples {self.max_samples}")
        return " ".join(parts)

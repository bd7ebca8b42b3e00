"""Analysis and inference benchmarks; every figure is a ratio to a baseline measured in the same run.

    python bench/analysis_bench.py                 # everything (several minutes on 2 cores)
    python bench/analysis_bench.py --only silhouette,predictor --quick
    python bench/analysis_bench.py --only tsne50k --record     # 50,000 points: tens of minutes

- silhouette: ours (blocked torch) vs ``sklearn.metrics.silhouette_samples`` at N = 20,000 x 512
  and 9 clusters, with the differences of the values and the share of the matmul peak (measured in
  the same run) that ours reaches; on CUDA too when there is a GPU;
- silhouette_memory: peak RSS of the silhouette at 200,000 x 128 over its first block pairs;
- tsne: openTSNE (ours) vs ``sklearn.manifold.TSNE`` at N = 10,000 (50 dims, the same iterations),
  with the 10-NN label agreement of both maps; tsne50k the same at 50,000 (not in the default run);
- umap: the first UMAP fit in a fresh process, plain umap-learn vs ours with the numba cache;
- predictor: ``Predictor.predict_tensor`` fp32 / bf16 vs a bare fp32 ``model.predict_pose(x)`` loop
  on the same batches, and the share of this machine's measured matmul peak that it reaches (the
  best of torch matmuls and of a GEMM-shaped 1x1 convolution, the faster path on some CPUs);
- video: frames/s of ``predict`` over a video (decode thread + model) vs the model alone on
  the same frames already decoded, the decode thread's CPU time per frame alone, and the ratios
  that CPU time allows on cores the model fills (spread evenly over the model's threads, or as if
  serial);
- memory: peak RSS of streaming 100,000 x 2048 features into the float16 cache (a child process);
- demo (when resources/demo is built): cross-view retrieval of the demo SimCLR encoder vs an
  untrained encoder of the same shape and vs chance; bf16 vs fp32 predictions of the demo heads.
Timings are the best of a few repeats (other work on the machine only slows runs down).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved(fns: dict, rounds: int = 5) -> dict:
    """Best time of each function, run in turns (A, B, A, B, ...) so that load from other work on
    the machine falls on all of them alike; the minimum is the least disturbed run."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def cpu_timed(fn, name: str, into: dict):
    """``fn`` that also keeps the least process CPU time of its runs in ``into[name]``."""
    def run():
        c0 = time.process_time()
        fn()
        into[name] = min(into.get(name, float("inf")), time.process_time() - c0)
    return run


def report(name: str, **values) -> dict:
    text = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    print(f"{name:<22} {text}", flush=True)
    return {"name": name, **values}


# ------------------------------------------------------------------------------- silhouette
def bench_silhouette(quick: bool) -> dict:
    import torch
    from sklearn.datasets import make_blobs
    from sklearn.metrics import silhouette_samples

    from hpe_core.analysis.silhouette import silhouette

    n, d = (5000 if quick else 20000), 512
    x, y = make_blobs(n, d, centers=9, cluster_std=4.0, random_state=0)
    x = x.astype(np.float32)
    silhouette(x[:500], y[:500])  # warm up torch
    a, b = torch.randn(2048, 520), torch.randn(2048, 520)
    ours, ref = [None], [None]
    t = interleaved({"ours": lambda: ours.__setitem__(0, silhouette(x, y)),
                     "sklearn": lambda: ref.__setitem__(0, silhouette_samples(x, y)),
                     "matmul": lambda: [torch.mm(a, b.T) for _ in range(4)]}, 2 if quick else 3)
    peak = 4 * 2 * 2048 * 2048 * 520 / t["matmul"] / 1e9
    useful = n * n * d / t["ours"] / 1e9  # the upper triangle: n^2 / 2 pairs x 2 d flops
    out = dict(n=n, dims=d, clusters=9, ours_s=t["ours"], sklearn_s=t["sklearn"], speedup=t["sklearn"] / t["ours"],
               score_diff=abs(ours[0][0] - float(ref[0].mean())),
               max_sample_diff=float(np.abs(ours[0][1] - ref[0]).max()),
               matmul_peak_gflops=peak, ours_gflops=useful, share_of_peak=useful / peak)
    if torch.cuda.is_available():
        silhouette(x[:500], y[:500], device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        cuda = silhouette(x, y, device="cuda")
        out.update(cuda_s=time.perf_counter() - t0, cuda_max_sample_diff=float(np.abs(cuda[1] - ref[0]).max()))
    return report("silhouette", **out)


_SILHOUETTE_MEMORY_CHILD = r"""
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
from hpe_core.analysis.silhouette import silhouette
from hpe_core.progress import Cancelled, RecordingProgress
n, d, steps = int(sys.argv[2]), 128, int(sys.argv[3])
rng = np.random.default_rng(0)
y = rng.integers(0, 9, n)
x = (rng.normal(size=(n, d)) + 4 * rng.normal(size=(9, d))[y]).astype(np.float32)
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
try:  # reset the peak (VmHWM) to the current RSS: the data made above is not the silhouette's
    open("/proc/self/clear_refs", "w").write("5")
except OSError:
    pass
base = status("VmRSS")
try:
    silhouette(x, y, progress=RecordingProgress(cancel_after=steps))
except Cancelled:
    pass
print(base, status("VmHWM"))
"""


def bench_silhouette_memory(quick: bool) -> dict:
    """Peak memory of the silhouette at 200,000 x 128 over its first block pairs (a child process,
    cancelled once the blocks are in steady state: the whole run is ~100x longer)."""
    n = 50000 if quick else 200000
    out = subprocess.run([sys.executable, "-c", _SILHOUETTE_MEMORY_CHILD, str(ROOT), str(n), "60"],
                         capture_output=True, text=True, check=True)
    base, peak = (float(v) for v in out.stdout.split())
    return report("silhouette_memory", n=n, dims=128, rss_with_input_mb=base, peak_rss_mb=peak,
                  growth_mb=peak - base, input_mb=n * 128 * 4 / 2 ** 20, full_matrix_mb=n * n * 4 / 2 ** 20)


# ------------------------------------------------------------------------------------ t-SNE
def _knn_agreement(coords, labels, k=10) -> float:
    from sklearn.neighbors import NearestNeighbors

    idx = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords, return_distance=False)[:, 1:]
    return float((labels[idx] == labels[:, None]).mean())


def bench_tsne(quick: bool, n: int | None = None) -> dict:
    from sklearn.datasets import make_blobs
    from sklearn.manifold import TSNE

    from hpe_core.analysis.projections import project

    n = n or (2000 if quick else 10000)
    x, y = make_blobs(n, 50, centers=12, cluster_std=6.0, random_state=0)
    x = x.astype(np.float32)
    maps = {}

    def ours():  # the same 1000 iterations as scikit-learn's default (250 exaggerated + 750)
        maps["ours"] = project(x, "tsne", 2, seed=0, n_iter=750, pca_dims=0).coords

    def sklearn():
        maps["sklearn"] = TSNE(2, perplexity=30, max_iter=1000, init="pca", random_state=0).fit_transform(x)

    cpu = {}
    t = interleaved({"ours": cpu_timed(ours, "ours", cpu), "sklearn": cpu_timed(sklearn, "sklearn", cpu)}, 1)
    agree = {k: _knn_agreement(v, y) for k, v in maps.items()}
    return report("tsne" if n <= 10000 else f"tsne{n // 1000}k", n=n, ours_s=t["ours"], sklearn_s=t["sklearn"],
                  speedup=t["sklearn"] / t["ours"], ours_cpu_s=cpu["ours"], sklearn_cpu_s=cpu["sklearn"],
                  load=os.getloadavg()[0], knn_agreement_ours=agree["ours"],
                  knn_agreement_sklearn=agree["sklearn"],
                  agreement_points=100 * (agree["ours"] - agree["sklearn"]))


def bench_tsne50k(quick: bool) -> dict:
    return bench_tsne(quick, 20000 if quick else 50000)


# ------------------------------------------------------------------------------------- UMAP
_UMAP_CHILD = r"""
import sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np
x = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
t0 = time.perf_counter()
if sys.argv[2] == "plain":
    import umap
    warnings.simplefilter("ignore")
    umap.UMAP(random_state=0).fit_transform(x)
else:
    from hpe_core.analysis.projections import project
    project(x, "umap", 2, seed=0)
print(time.perf_counter() - t0)
"""


def bench_umap(quick: bool) -> dict:
    """First use of UMAP in a fresh process: plain umap-learn (compiles its numba functions) vs
    ours with an empty on-disk cache (compiles and writes it) and with that cache (loads it)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HPE_STUDIO_CACHE": tmp}
        env.pop("NUMBA_CACHE_DIR", None)

        def child(mode):
            out = subprocess.run([sys.executable, "-c", _UMAP_CHILD, str(ROOT), mode], env=env,
                                 capture_output=True, text=True, check=True)
            return float(out.stdout.split()[-1])

        first = child("ours")
        plain = [child("plain") for _ in range(1 if quick else 2)]
        cached = [child("ours") for _ in range(1 if quick else 2)]
        files = sum(1 for _ in Path(tmp, "numba").rglob("*.nbi"))
    return report("umap_first_use", plain_s=min(plain), ours_empty_cache_s=first, ours_cached_s=min(cached),
                  speedup=min(plain) / min(cached), cached_index_files=files)


# -------------------------------------------------------------------------------- predictor
def matmul(dtype, n: int = 2048):
    """An n^3 matmul in ``dtype`` (2 n^3 FLOPs), for the machine's peak."""
    import torch

    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    a @ b
    return lambda: a @ b


def gemm_as_conv(dtype, c: int = 1024):
    """A 1x1 convolution, (4, c, 32, 32) -> c channels: a GEMM through oneDNN (torch's CPU matmul
    goes through a BLAS that can be far from the machine's peak, e.g. MKL on AMD)."""
    import torch

    x = torch.randn(4, c, 32, 32).to(dtype).contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(c, c, 1, bias=False).to(dtype).to(memory_format=torch.channels_last)

    def run():
        with torch.inference_mode():
            conv(x)

    run()
    return run, 2.0 * 4 * c * c * 32 * 32


def model_flops(model, x) -> float:
    """FLOPs (2 x multiply-adds) of convolutions and linear layers for one forward pass of ``x``."""
    import torch

    total = [0.0]

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total[0] += 2.0 * output.numel() * k
        elif isinstance(module, torch.nn.Linear):
            total[0] += 2.0 * output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.predict_pose(x)
    for h in handles:
        h.remove()
    return total[0]


def _regressor(width: int = 64):
    import torch

    from hpe_core.models import build_model

    torch.manual_seed(0)
    return build_model("regressor", "resnet18", width=width, head_layers=2, pose_scale=100.0).eval()


def bench_predictor(quick: bool, size: int = 128, batch: int = 32) -> dict:
    import torch

    from hpe_core.inference import Predictor

    model = _regressor()
    batches = [torch.randn(batch, 3, size, size) for _ in range(2 if quick else 4)]

    def bare():
        with torch.no_grad():
            for x in batches:
                model.predict_pose(x)

    predictors = {p: Predictor(model, "cpu", p, batch_size=batch, image_size=size) for p in ("fp32", "bf16")}
    runs = {p: (lambda pr=pr: [pr.predict_tensor(x) for x in batches]) for p, pr in predictors.items()}
    kinds = (("fp32", torch.float32), ("bf16", torch.bfloat16))
    mm = {f"mm_{p}_{n}": matmul(dt, n) for p, dt in kinds for n in (1024, 2048)}
    convs = {p: gemm_as_conv(dt) for p, dt in kinds}
    t = interleaved({"bare": bare, **runs, **mm, **{f"conv_{p}": c[0] for p, c in convs.items()}},
                    3 if quick else 6)
    t_bare = t["bare"]
    images = batch * len(batches)
    flops = model_flops(model, batches[0][:1])
    peaks = {p: max([2 * n ** 3 / t[f"mm_{p}_{n}"] / 1e9 for n in (1024, 2048)]
                    + [convs[p][1] / t[f"conv_{p}"] / 1e9]) for p in ("fp32", "bf16")}
    x = batches[0][:8]
    ref = predictors["fp32"].predict_tensor(x)
    bf16_mm = float(np.linalg.norm(predictors["bf16"].predict_tensor(x) - ref, axis=-1).mean())
    out = {"images": images, "image_size": size, "bare_fp32_img_s": images / t_bare}
    for p in predictors:
        ips = images / t[p]
        out.update({f"{p}_img_s": ips, f"{p}_vs_bare": t_bare / t[p],
                    f"{p}_peak_gflops": peaks[p], f"{p}_peak_fraction": ips * flops / 1e9 / peaks[p]})
    out["bf16_vs_fp32_mpjpe_mm"] = bf16_mm
    return report("predictor", **out)


# ------------------------------------------------------------------------------------ video
def bench_video(quick: bool, size: int = 128) -> dict:
    import cv2
    import torch

    from hpe_core.datasets.video import read_video
    from hpe_core.inference import Predictor, collect, predict
    from hpe_core.inference.video import decode_video

    frames = 96 if quick else 256
    model = _regressor()
    predictor = Predictor(model, "cpu", "fp32", batch_size=32, image_size=size)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 480))
        rng = np.random.default_rng(0)
        base = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (0, 0), 5)
        decoded = []
        for i in range(frames):
            frame = np.roll(base, 3 * i, axis=1)
            writer.write(frame)
        writer.release()
        cap = cv2.VideoCapture(str(path))
        for _ in range(frames):
            decoded.append(predictor.preprocess(cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB)))  # decoding first
        cap.release()
        batches = [torch.stack(decoded[a:a + 32]) for a in range(0, frames, 32)]

        def model_only():
            for x in batches:
                predictor.predict_tensor(x)

        def decode_only():  # the decode thread's work alone: the frames as predict gets them
            for _ in decode_video(path, size)[0]:
                pass

        model_only()
        cpu = {}
        t = interleaved({"model": cpu_timed(model_only, "model", cpu),
                         "video": cpu_timed(lambda: collect(predict(predictor, read_video(path)), predictor), "video",
                                            cpu),
                         "decode": cpu_timed(decode_only, "decode", cpu)}, 2 if quick else 4)
        t_model, t_video = t["model"], t["video"]
    # On a loaded machine the wall-clock ratio flatters the pipeline (its extra thread takes CPU from the other
    # work, not from the model); the CPU-time ratio is what it would be on an idle machine whose cores the
    # model fills: the model's CPU time over the pipeline's.
    # The bound: when the model keeps all its threads' cores busy, the decode's CPU time comes out of theirs,
    # at best spread evenly over them (decode CPU / threads of wall time per frame); a thread that loses its
    # core to the decode mid-operation also makes the others wait for it, so the real cost is nearer the
    # whole decode CPU time.
    threads = torch.get_num_threads()
    decode_ms = cpu["decode"] / frames * 1e3
    model_ms = t_model / frames * 1e3
    return report("video", frames=frames, decode_size="640x480", model_only_fps=frames / t_model,
                  pipeline_fps=frames / t_video, ratio=t_model / t_video, cpu_ratio=cpu["model"] / cpu["video"],
                  model_ms_per_frame=model_ms, decode_cpu_ms_per_frame=decode_ms,
                  bound_even_share=model_ms / (model_ms + decode_ms / threads),
                  bound_serial=model_ms / (model_ms + decode_ms), load=os.getloadavg()[0])


# ----------------------------------------------------------------------------------- memory
_MEMORY_CHILD = r"""
import sys, time, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from hpe_core.analysis.features import FeatureCache, extract_to_cache
from hpe_core.progress import NullProgress
n, d, batch = int(sys.argv[3]), 2048, 500

class Stub(torch.nn.Module):
    # 2048-d features from 8x8 images: the cost is in the features, as at 100k x 2048 it is.
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3 * 8 * 8, d)
    def features(self, x, names):
        return {name: self.proj(x.flatten(1)) for name in names}

def batches():
    gen = torch.Generator().manual_seed(0)
    for a in range(0, n, batch):
        b = min(batch, n - a)
        yield np.arange(a, a + b), torch.randn(b, 3, 8, 8, generator=gen), []

def rss_mb(field):  # VmHWM: this process's peak (ru_maxrss would include the parent's before exec)
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024

torch.manual_seed(0)
base = rss_mb("VmRSS")
cache = FeatureCache(Path(sys.argv[2]))
t0 = time.perf_counter()
extract_to_cache(Stub(), batches(), ("encoder",), cache, {"encoder": "k"}, "cpu", "fp32", n, NullProgress())
feats, idx, _ = cache.read("k")
mean = np.zeros(d)
for a in range(0, n, 8192):
    mean += feats[a:a + 8192].astype(np.float64).sum(0)
elapsed = time.perf_counter() - t0
peak = rss_mb("VmHWM")
print(f"{base:.1f} {peak:.1f} {feats.shape[0]} {feats.shape[1]} {elapsed:.2f}")
"""


def bench_memory(quick: bool) -> dict:
    n = 20000 if quick else 100000
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(ROOT), tmp, str(n)],
                             capture_output=True, text=True, check=True)
    base, peak, rows, dims, seconds = out.stdout.split()
    held_f32_mb = int(rows) * int(dims) * 4 / 2 ** 20
    return report("memory", samples=int(rows), dims=int(dims), rss_after_imports_mb=float(base),
                  peak_rss_mb=float(peak), growth_mb=float(peak) - float(base),
                  float32_array_mb=held_f32_mb, seconds=float(seconds))


# -------------------------------------------------------------------------------- the demo
def bench_demo(quick: bool) -> dict:
    """Cross-view retrieval of the demo SimCLR encoder vs an untrained one and chance; bf16 vs fp32."""
    import torch

    from hpe_core import resources_dir
    from hpe_core.analysis import EmbedSpec, compute_embeddings, cross_view_retrieval
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.demo import demo_dataset_path
    from hpe_core.inference import Predictor, collect, predict
    from hpe_core.models import build_model, load_checkpoint, save_checkpoint

    demo = resources_dir() / "demo"
    if not (demo / "simclr.pt").is_file():
        print("demo                   skipped: resources/demo/simclr.pt is not built ('hpe demo build')")
        return {"name": "demo", "skipped": True}
    data = demo_dataset_path()
    limit = 400 if quick else None
    out = {"dataset": str(data)}
    with tempfile.TemporaryDirectory() as tmp:
        trained, _ = load_checkpoint(demo / "simclr.pt")
        torch.manual_seed(0)
        random = build_model(trained.family, trained.backbone_name,
                             **{k: v for k, v in trained.config.items() if k not in ("family", "backbone")})
        save_checkpoint(Path(tmp) / "random.pt", random)
        for name, ckpt in (("simclr", demo / "simclr.pt"), ("random", Path(tmp) / "random.pt")):
            emb = compute_embeddings(EmbedSpec(ckpt, data, ("encoder", "projection"), "test", limit,
                                               device="cpu", cache_dir=Path(tmp) / "cache"))
            ds = emb.dataset
            pid, cam = np.asarray(ds.pose_id)[emb.indices], np.asarray(ds.camera_id)[emb.indices]
            for layer in ("encoder", "projection"):
                r = cross_view_retrieval(np.asarray(emb.features[layer], np.float32), pid, cam)
                out.update({f"{name}_{layer}_top1": r["top1"], f"{name}_{layer}_top5": r["top5"]})
                out.update({"chance_top1": r["chance_top1"], "chance_top5": r["chance_top5"], "queries": r["queries"]})
    out["top1_vs_chance"] = out["simclr_encoder_top1"] / out["chance_top1"]
    out["top1_vs_untrained"] = out["simclr_encoder_top1"] / max(out["random_encoder_top1"], 1e-9)
    for head in ("simclr_regress2.pt", "simsiam_regress2.pt"):
        if not (demo / head).is_file():
            continue
        dataset = open_dataset(data)
        rows = dataset.split_indices("test")[: limit or None]
        predictors = {p: Predictor(demo / head, "cpu", p) for p in ("fp32", "bf16")}
        preds = {p: collect(predict(pr, dataset, rows), pr) for p, pr in predictors.items()}
        diff = np.linalg.norm(preds["bf16"].joints_3d - preds["fp32"].joints_3d, axis=-1).mean()
        out[f"{head[:-3]}_bf16_vs_fp32_mpjpe_mm"] = float(diff)
    return report("demo", **out)


BENCHES = {"silhouette": bench_silhouette, "silhouette_memory": bench_silhouette_memory, "tsne": bench_tsne,
           "tsne50k": bench_tsne50k, "umap": bench_umap, "predictor": bench_predictor, "video": bench_video,
           "memory": bench_memory, "demo": bench_demo}
DEFAULT = [name for name in BENCHES if name != "tsne50k"]  # 50,000-point sklearn t-SNE: tens of minutes


def record_figures(results: list[dict]) -> None:
    """The headline figure of each result, with its aim, into bench/README.md."""
    from record import record

    rows = []
    for r in results:
        name = r.get("name")
        if name == "silhouette":
            rows.append((f"silhouette {r['n']:,} x {r['dims']}, 9 clusters / sklearn",
                         f"{r['speedup']:.2f}x ({r['share_of_peak']:.0%} of matmul peak; score diff "
                         f"{r['score_diff']:.1e}, per sample {r['max_sample_diff']:.1e})", ">= 6x"))
        elif name == "silhouette_memory":
            rows.append((f"silhouette {r['n']:,} x 128 peak memory", f"{r['growth_mb']:.0f} MB over the input "
                         f"({r['input_mb']:.0f} MB; a full matrix: {r['full_matrix_mb']:,.0f} MB)", "bounded by blocks"))
        elif name and name.startswith("tsne"):
            rows.append((f"t-SNE {r['n']:,} points / sklearn", f"{r['speedup']:.2f}x (10-NN agreement "
                         f"{r['agreement_points']:+.1f} points)", ">= 2x" if r["n"] <= 10000 else ">= 4x"))
        elif name == "umap_first_use":
            rows.append(("UMAP first use in a fresh process, plain / cached", f"{r['speedup']:.2f}x "
                         f"({r['plain_s']:.1f} s -> {r['ours_cached_s']:.1f} s)", "no warm-up"))
        elif name == "video":
            rows.append(("predict (video) / model alone", f"{r['ratio']:.3f} (decode {r['decode_cpu_ms_per_frame']:.2f} "
                         f"ms CPU a frame, model {r['model_ms_per_frame']:.2f} ms: at most "
                         f"{r['bound_even_share']:.3f} with the decode's CPU spread evenly over the model's "
                         "cores)", ">= 0.95"))
        elif name == "predictor":
            rows.append(("Predictor fp32 / bare model loop", f"{r['fp32_vs_bare']:.2f}", ">= 1"))
        elif name == "memory":
            rows.append(("feature cache 100,000 x 2048, peak growth", f"{r['growth_mb']:.0f} MB", "bounded"))
    record("analysis_bench", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(DEFAULT), help="comma-separated: " + ", ".join(BENCHES))
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    parser.add_argument("--record", action="store_true", help="put the figures into bench/README.md")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cuda={torch.cuda.is_available()}",
          flush=True)
    results = [BENCHES[name.strip()](args.quick) for name in args.only.split(",") if name.strip()]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if args.record:
        record_figures(results)


if __name__ == "__main__":
    main()

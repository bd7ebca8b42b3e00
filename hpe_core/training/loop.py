"""One training loop for every task: ``run_training(config, progress, events, resume) -> TrainResult``.

Per step: learning rate from the schedule, forward under autocast, a finite-loss check (NaN
or infinity stops the run before any update and names the last good checkpoint), backward
(with a GradScaler for fp16), gradient clipping, optimizer step. Per epoch: evaluation on the
validation split, ``last.pt`` and, when the monitored metric improves, ``best.pt``. A stop
request (SIGINT/SIGTERM/SIGUSR1, or the progress sink's ``cancelled()``) is honoured at the next step
boundary: ``last.pt`` is written with all a resume needs, and the run returns ``reason="interrupted"``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hpe_core import __version__
from hpe_core.analysis.health_alarms import emit_new_alarms
from hpe_core.atomic import writing
from hpe_core.errors import InputError
from hpe_core.progress import NullProgress
from hpe_core.training import distributed
from hpe_core.training.checkpoints import ResumePoint, check_output_folder, save_training_checkpoint
from hpe_core.training.config import Config, check_paths, check_resume_compatible, effective_lrs, validate
from hpe_core.training.data import EpochBatches, SeededItems, epoch_loader, steps_per_epoch
from hpe_core.training.events import EventWriter
from hpe_core.training.memory import check_memory
from hpe_core.training.optim import make_optimizer, make_scaler, resolve_precision
from hpe_core.training.runs.trackers import with_trackers
from hpe_core.training.schedule import apply_lr, make_schedule
from hpe_core.training.state import StopFlag, capture_rng, restore_rng, seed_everything
from hpe_core.training.tasks import make_task


class NonFiniteLoss(InputError):
    """The loss became NaN or infinite; the run stopped without applying that step."""


@dataclass
class TrainResult:
    reason: str  # "finished" | "interrupted"
    epoch: int
    step: int
    total_steps: int
    output: Path
    last_checkpoint: Path | None = None
    best_checkpoint: Path | None = None
    history: list[dict] = field(default_factory=list)
    best: dict | None = None
    final: dict = field(default_factory=dict)


def run_training(config: Config, progress=None, events: EventWriter | None = None,
                 resume: str | Path | None = None, stop: StopFlag | None = None) -> TrainResult:
    """Train as ``config`` says; see the module docstring. Raises InputError for bad input."""
    from hpe_core.devices import resolve_device

    point = ResumePoint(resume) if resume else None
    if point is not None:
        check_resume_compatible(point.config, config)
    check_paths(validate(config))
    info = distributed.env_info()
    device = distributed.device_for_rank(resolve_device(config.train.device), info)
    info = distributed.init(device)
    threads = torch.get_num_threads()
    try:
        if config.train.threads:
            torch.set_num_threads(config.train.threads)
        run = _Run(config, device, info, progress or NullProgress(), events, stop or StopFlag(), point)
        return run.run()
    finally:
        torch.set_num_threads(threads)
        distributed.shutdown()


def open_training_dataset(config: Config, info) -> Any:
    """The dataset of ``data.path`` ("demo", "demo-heldout": the demo set split by pose or by
    subject, made by rank 0 if missing)."""
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.demo import demo_alias, demo_dataset_path

    path = config.data.path
    params = demo_alias(path)
    if params is not None:
        if info.is_main:
            demo_dataset_path(params)
        distributed.barrier(info)
        path = str(demo_dataset_path(params))
    if not Path(path).expanduser().exists():
        raise InputError(f"data.path {path}: no such dataset")
    from hpe_core.datasets.boxes import apply_boxes

    return apply_boxes(open_dataset(Path(path).expanduser(), skip_list=config.data.skip_list), config.data.crop)


class _Run:
    def __init__(self, config: Config, device, info, progress, events, stop, point) -> None:
        self.config, self.device, self.info, self.progress = config, device, info, progress
        self.events = with_trackers(config, events) if (events is not None and info.is_main) else EventWriter(None)
        self.stop, self.point = stop, point
        self.out = Path(config.train.output).expanduser()
        self.epoch = self.batch = self.step = 0
        self.history: list[dict] = []
        self._losses: list[float] = []  # this epoch's step losses (kept in last.pt for a resume)
        self.best: dict | None = None
        self.best_state: dict | None = None
        self.last_path: Path | None = None
        self.best_path: Path | None = None
        self.skipped = 0  # unreadable training samples dropped from batches
        self._setup()

    # -- setup ------------------------------------------------------------------------
    def _setup(self) -> None:
        c = self.config
        if self.info.is_main:
            check_output_folder(self.out)
        seed_everything(c.train.seed)
        self.dataset = open_training_dataset(c, self.info)
        self.task = make_task(c, self.dataset, self.device)
        check_memory(self.task, c, self.device)
        self.model = self.task.build_model().to(self.device)
        if self.info.is_main:  # made once the task has accepted the data: a refused run leaves no folder
            with writing(f"train.output {self.out}"):
                self.out.mkdir(parents=True, exist_ok=True)
        self.precision = resolve_precision(c.train.precision, self.device)
        self.net = distributed.wrap(self.task.net(self.model).to(self.device), self.device, self.info)
        head_lr, encoder_lr = effective_lrs(c)
        self.optimizer = make_optimizer(c.optim, self.task.param_groups(self.model, head_lr, encoder_lr))
        self.scaler = make_scaler(self.precision, self.device)
        self.train_items = SeededItems(self.task.train_items(), c.train.seed)
        self.steps_per_epoch = steps_per_epoch(len(self.train_items), c.train.batch_size,
                                               c.train.max_steps_per_epoch)
        self.total_steps = self.steps_per_epoch * c.train.epochs
        self.schedule = make_schedule(c, self.steps_per_epoch)
        if self.point is not None:
            self._restore(self.point)

    def _restore(self, point: ResumePoint) -> None:
        stored = point.training
        if int(stored.get("steps_per_epoch", -1)) != self.steps_per_epoch:
            raise InputError(f"--resume {point.path}: {stored.get('steps_per_epoch')} steps per epoch "
                             f"there, {self.steps_per_epoch} here (did the dataset change?)")
        point.load_model(self.model)
        self.optimizer.load_state_dict(point.optimizer)
        if self.scaler is not None and point.scaler:
            self.scaler.load_state_dict(point.scaler)
        self.epoch, self.batch, self.step = point.epoch, point.batch, point.step
        self.last_path, self._last_step = point.path, point.step
        self.history = list(stored.get("history", []))
        self._losses = [float(x) for x in stored.get("epoch_losses", [])]
        self.best = stored.get("best")
        best_file = self.out / "best.pt"
        if self.best is not None and best_file.is_file():
            from hpe_core.training.checkpoints import read_raw

            self.best_state = read_raw(best_file).get("state_dict")
            self.best_path = best_file
        restore_rng(point.rng)

    # -- the run ----------------------------------------------------------------------
    def run(self) -> TrainResult:
        c = self.config
        self.events.emit("start", config=c.to_dict(), total_steps=self.total_steps,
                         steps_per_epoch=self.steps_per_epoch, epochs=c.train.epochs,
                         world_size=self.info.world_size, device=str(self.device), precision=self.precision,
                         resumed_from=str(self.point.path) if self.point else None, epoch=self.epoch,
                         step=self.step, hpe_version=__version__)
        self.started = time.monotonic()
        while self.epoch < c.train.epochs:
            if not self._train_epoch():
                return self._finish("interrupted")
            self._end_epoch()
        return self._finish("finished")

    def _stop_requested(self) -> bool:
        wanted = self.stop.requested or bool(self.progress.cancelled())
        return distributed.any_flag(wanted, self.device, self.info)

    def _train_epoch(self) -> bool:
        c = self.config
        sampler = EpochBatches(len(self.train_items), c.train.batch_size, c.train.seed, self.epoch,
                               rank=self.info.rank, world_size=self.info.world_size, start=self.batch,
                               max_batches=self.steps_per_epoch)
        loader = epoch_loader(self.train_items, sampler, c.data.num_workers, self.task.collate())
        self.task.set_train_mode(self.net)
        self._tick = (time.monotonic(), 0)
        if self.batch == 0:
            self._losses = []
        for batch in loader:
            self.skipped += len(batch.pop("skipped", []))
            if self._stop_requested():
                self._save_last(resumable=True)
                return False
            if distributed.any_flag(self.task.batch_size(batch) < self.task.min_batch, self.device, self.info):
                self._skip_step()
                continue
            self._train_step(batch)
        if self._stop_requested():  # stopped during the last batch: the epoch is done, evaluate first
            self._end_epoch()
            return False
        return True

    def _train_step(self, batch: dict) -> None:
        from hpe_core.devices import autocast

        n = self.task.batch_size(batch)
        lr = apply_lr(self.optimizer, self.schedule, self.step)
        if getattr(self.task, "owns_step", False):  # e.g. a GAN's two updates (vae_lift)
            with autocast(self.device, self.precision):
                loss = self.task.train_step(self.net, batch, self.optimizer, self.epoch, self._check_finite)
            return self._stepped(loss, n, lr)
        with autocast(self.device, self.precision):
            loss = self.task.loss(self.net, batch)
        self._check_finite(loss)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.config.optim.grad_clip:
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.config.optim.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self._stepped(loss, n, lr)

    def _check_finite(self, loss: torch.Tensor) -> None:
        """NonFiniteLoss (before any update) when ``loss`` is NaN or infinite on any rank."""
        bad = not bool(torch.isfinite(loss.detach()).all())
        if distributed.any_flag(bad, self.device, self.info):
            raise NonFiniteLoss(self._nan_message(loss))

    def _stepped(self, loss: torch.Tensor, n: int, lr: float) -> None:
        self.step += 1
        self.batch += 1
        self._losses.append(float(loss.detach()))
        self._tick = (self._tick[0], self._tick[1] + n * self.info.world_size)
        if self.step % self.config.train.log_every == 0 or self.batch == self.steps_per_epoch:
            self._log_progress(lr)
        self.progress.set_progress(self.step / max(self.total_steps, 1))

    def _skip_step(self) -> None:
        """A batch with too few readable samples: no update, but the step counts (the schedule,
        the epoch's length and a resume stay as planned)."""
        self.events.emit("log", level="warning", message=f"step {self.step + 1}: too few readable "
                         f"samples in the batch; skipped ({self.skipped} unreadable so far)")
        self.step += 1
        self.batch += 1
        self.progress.set_progress(self.step / max(self.total_steps, 1))

    def _log_progress(self, lr: float) -> None:
        start, samples = self._tick
        now = time.monotonic()
        recent = self._losses[-self.config.train.log_every:]
        loss = distributed.mean_value(sum(recent) / max(len(recent), 1), self.device, self.info)
        self.events.emit("progress", epoch=self.epoch, step=self.step, total_steps=self.total_steps,
                         loss=loss, lr=lr, samples_per_s=samples / max(now - start, 1e-9))
        self.progress.set_status(f"epoch {self.epoch + 1}/{self.config.train.epochs} "
                                 f"step {self.step}/{self.total_steps} loss {loss:.4g}")
        self._tick = (now, 0)

    def _nan_message(self, loss: torch.Tensor) -> str:
        where = f"epoch {self.epoch + 1}, step {self.step + 1}"
        kept = (f"the last good checkpoint is {self.last_path} (step {self._last_step})"
                if self.last_path else "no checkpoint had been written yet")
        return (f"the loss became {float(loss.detach())} at {where}; training stopped before applying "
                f"that step; {kept}. Lower optim.lr or set optim.grad_clip")

    # -- evaluation and checkpoints -----------------------------------------------------
    def _loader_for(self, split: str):
        items = SeededItems(self.task.eval_items(split), self.config.train.seed)
        sampler = EpochBatches(len(items), self.config.train.batch_size, 0, 0, shuffle=False,
                               drop_last=False, rank=self.info.rank, world_size=self.info.world_size)
        return epoch_loader(items, sampler, self.config.data.num_workers, self.task.collate())

    def _evaluate(self, split: str = "val") -> dict:
        self.net.eval()
        reduce = lambda sums: distributed.sum_dict(sums, self.device, self.info)  # noqa: E731
        metrics = self.task.evaluate(self.net, self._loader_for(split), reduce)
        self.task.set_train_mode(self.net)
        return metrics

    def _end_epoch(self) -> None:
        metrics = self._evaluate("val") if len(self.task.val_indices) else {}
        histograms = metrics.pop("histograms", None)  # e.g. vae_lift's per-joint error histogram
        train_loss = sum(self._losses) / max(len(self._losses), 1)
        train_loss = distributed.mean_value(train_loss, self.device, self.info)
        self.events.emit("metric", epoch=self.epoch, step=self.step, split="val",
                         metrics={"train_loss": train_loss, **metrics},
                         **({"histograms": histograms} if histograms else {}))
        self.history.append({"epoch": self.epoch, "step": self.step, "train_loss": train_loss, **metrics})
        emit_new_alarms(self.events, self.history, self.config.health)  # hpe_core.analysis.health_alarms
        self.progress.partial({"epoch": self.epoch, "metrics": metrics})
        self.epoch, self.batch = self.epoch + 1, 0
        improved = self._update_best(metrics)
        self._save_last(resumable=True)
        if improved:
            self._save_best()

    def _update_best(self, metrics: dict) -> bool:
        name = self.config.train.monitor or self.task.monitor
        value = metrics.get(name)
        if value is None:
            return self.best is None
        better = (self.best is None or self.best.get("value") is None
                  or (value < self.best["value"] if self.task.mode == "min" else value > self.best["value"]))
        if better:
            self.best = {"metric": name, "value": value, "epoch": self.epoch - 1, "step": self.step}
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        return better

    def _training_info(self, complete: bool, final: dict | None = None) -> dict:
        return {"task": self.config.task, "config": self.config.to_dict(), "epoch": self.epoch,
                "batch": self.batch, "step": self.step, "total_steps": self.total_steps,
                "steps_per_epoch": self.steps_per_epoch, "history": self.history, "best": self.best,
                "complete": complete, "final": final or {}, "world_size": self.info.world_size,
                "epoch_losses": list(self._losses) if self.batch else [],
                "hpe_version": __version__}

    def _save_last(self, resumable: bool, final: dict | None = None) -> None:
        if self.info.is_main:
            resume = None
            if resumable:
                resume = {"optimizer": self.optimizer.state_dict(), "rng": capture_rng(),
                          "scaler": self.scaler.state_dict() if self.scaler is not None else None}
            complete = self.epoch >= self.config.train.epochs
            path = save_training_checkpoint(self.out / "last.pt", self.model,
                                            self._training_info(complete, final), resume)
            self.last_path, self._last_step = Path(path), self.step
            self.events.emit("checkpoint", epoch=self.epoch, step=self.step, path=str(path), kind="last")
        distributed.barrier(self.info)

    def _save_best(self, final: dict | None = None) -> None:
        if self.info.is_main and self.best_state is not None:
            model = copy.deepcopy(self.model).cpu()
            model.load_state_dict(self.best_state)
            info = self._training_info(self.epoch >= self.config.train.epochs, final)
            info.update(epoch=self.best["epoch"] + 1, step=self.best["step"], batch=0)
            self.best_path = Path(save_training_checkpoint(self.out / "best.pt", model, info))
            self.events.emit("checkpoint", epoch=self.best["epoch"] + 1, step=self.best["step"],
                             path=str(self.best_path), kind="best")
        distributed.barrier(self.info)

    def _finish(self, reason: str) -> TrainResult:
        final: dict = {}
        if reason == "finished":
            final = self._final_metrics()
            if final:  # record them in both files
                self._save_last(resumable=True, final=final)
            if self.best_state is not None:  # best.pt of a finished run says so, with the final figures
                self._save_best(final)
        summary = {"reason": reason, "best": self.best, "final": final, "history": self.history[-1:],
                   "last_checkpoint": str(self.last_path) if self.last_path else None,
                   "best_checkpoint": str(self.best_path) if self.best_path else None,
                   "skipped_samples": max(self.skipped, _skipped(self.train_items.dataset)),
                   "elapsed_s": time.monotonic() - self.started,
                   "signal": self.stop.signal_name if reason == "interrupted" else None}
        self.events.emit("done", epoch=self.epoch, step=self.step, total_steps=self.total_steps,
                         reason=reason, summary=summary)
        return TrainResult(reason=reason, epoch=self.epoch, step=self.step, total_steps=self.total_steps,
                           output=self.out, last_checkpoint=self.last_path, best_checkpoint=self.best_path,
                           history=self.history, best=self.best, final=final)

    def _final_metrics(self) -> dict:
        """The task's final figures, computed with the best weights (then the last ones restored)."""
        last = None
        if self.best_state is not None:
            last = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.model.load_state_dict(self.best_state)
        self.net.eval()
        reduce = lambda sums: distributed.sum_dict(sums, self.device, self.info)  # noqa: E731
        final = self.task.final_metrics(self.net, self._loader_for, reduce)
        if last is not None:
            self.model.load_state_dict(last)
        if final:
            self.events.emit("metric", epoch=self.epoch, step=self.step, split="final",
                             metrics=_flat_numbers(final))
        return final


def _skipped(items) -> int:
    return int(getattr(items, "skipped_count", 0) or 0)


def _flat_numbers(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat_numbers(v, f"{prefix}{k}."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = v
    return out

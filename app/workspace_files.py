"""Files into the workspace, many at once: the open batch (several paths opened by their kind,
one report of what failed) and the workspace file (``*.hpews``): capturing what is open and
shown, saving it, and restoring it once everything it lists is open again.

Each step goes through the workspace's own methods (open a dataset, make a checkpoint active,
select a sample, ...), read here through :class:`Host`, the part of the workspace they use; the
workspace itself keeps only the doors (``open_paths``, ``state``, ``save_workspace``,
``open_workspace``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol

from app.model import browsing, messages
from app.model.browsing import Browse, BrowseState
from app.model.catalog import Catalog, path_key
from app.model.device import DeviceChoice
from app.model.predictions import LiftSource
from app.model.sample_feed import SampleFeed
from app.model.view_options import ViewOptions
from app.model.workspace_file import WorkspaceState, load_workspace_file, save_workspace_file
from app.workers.manager import when_all_finished
from app.workers.task import Task
from hpe_core.errors import InputError
from hpe_core.file_kinds import classify_file


class Host(Protocol):
    """What the batch and the workspace file use of the workspace."""

    catalog: Catalog
    browse: Browse
    options: ViewOptions
    device: DeviceChoice
    feed: SampleFeed
    lift: LiftSource
    compare_pair: tuple[str | None, str | None]
    message: object            # Signal(level, text)
    file_opened: object        # Signal(path)
    workspace_loaded: object   # Signal(path)
    compare_pair_changed: object  # Signal((key A, key B))

    def open_workspace(self, path) -> None: ...
    def open_dataset(self, path, skip_list=None, on_error=None) -> Task: ...
    def open_checkpoint(self, path, activate: bool = True, on_error=None) -> Task: ...
    def open_predictions(self, path, units=None, activate: bool = True, on_error=None) -> Task: ...
    def set_current_dataset(self, key: str | None) -> None: ...
    def set_active_checkpoint(self, key: str | None, explain: bool = False) -> None: ...
    def set_lift_source(self, key: str | None) -> None: ...
    def set_browse_state(self, state: BrowseState) -> None: ...
    def select(self, index: int) -> None: ...


# ------------------------------------------------------------------------ the open batch
def open_batch(ws: Host, paths, on_complete: Callable[[], None] | None = None) -> list[Task]:
    """Open each path by its kind; ``on_complete`` runs once all of them finished.

    Checkpoints load in parallel; when none was active, the first one listed becomes active as
    soon as it loads (the others never do on the way), and at the end the first listed with a
    pose head (else the first that opened) is the active one. Several failures make one message, listing each in order.
    """
    kinds = [(path, classify_file(path)) for path in paths]
    failures: dict[int, str] = {}
    listed = [path_key(p) for p, kind in kinds if kind in ("checkpoint", "predictions")]
    was_active = ws.catalog.active_key
    first = listed[0] if listed and was_active is None else None  # the only one made active as it loads:
    openers = {"workspace": lambda p, _report: ws.open_workspace(p),  # whichever loads first never flips to it
               "checkpoint": lambda p, report: ws.open_checkpoint(p, path_key(p) == first, on_error=report),
               "dataset": lambda p, report: ws.open_dataset(p, on_error=report),
               "predictions": lambda p, report: ws.open_predictions(p, activate=path_key(p) == first,
                                                                    on_error=report)}
    started = [openers[kind](path, lambda text, i=i: failures.__setitem__(i, text))
               for i, (path, kind) in enumerate(kinds)]

    def complete() -> None:
        ws.catalog.order_checkpoints([k for k in ws.catalog.checkpoints if k not in listed] + listed)
        if was_active is None:
            _activate_first(ws, listed)
        _report_failures(ws, [failures[i] for i in sorted(failures)], len(kinds))
        if on_complete is not None:
            on_complete()

    when_all_finished(started, complete)
    return started


def _activate_first(ws: Host, listed: list[str]) -> None:
    """The first of ``listed`` that opened with a pose head (else the first that opened) becomes active."""
    c = ws.catalog
    opened = [k for k in listed if k in c.checkpoints]
    heads = [k for k in opened if c.checkpoints[k].has_pose_head]
    first = (heads or opened or [None])[0]
    if first is not None and c.active_key != first:
        ws.set_active_checkpoint(first)


def _report_failures(ws: Host, errors: list[str], total: int) -> None:
    if len(errors) == 1:
        ws.message.emit("error", errors[0])
    elif errors:
        lines = [messages.SEVERAL_FAILED.format(count=len(errors), total=total)]
        ws.message.emit("error", "\n".join(lines + ["• " + e.split("\n\n")[0] for e in errors]))


# ------------------------------------------------------------------------ the workspace file
def capture(ws: Host) -> WorkspaceState:
    """A plain snapshot of what is open and shown."""
    c = ws.catalog
    return WorkspaceState(
        datasets=[{"path": k, "skip_list": e.skip_list} for k, e in c.datasets.items() if Path(k).exists()],
        current_dataset=c.current_key, checkpoints=list(c.checkpoints), active_checkpoint=c.active_key,
        selection=int(ws.feed.selection), filters=dict(ws.browse.state.filters), sort=ws.browse.state.sort,
        options=ws.options.as_dict(), device=ws.device.spec, precision=ws.device.precision,
        compare=[k for k in ws.compare_pair if k in c.checkpoints] if all(ws.compare_pair) else [],
        units={k: e.units for k, e in c.checkpoints.items() if getattr(e, "kind", "") == "predictions" and e.units},
        lift_source=ws.lift.key)


def save(ws: Host, path: str | Path, quiet: bool = False) -> Path | None:
    """Write :func:`capture` to ``path``; the path, or None (with a message) when it failed."""
    try:
        path = save_workspace_file(path, capture(ws))
    except (OSError, InputError) as exc:  # a full disk, a read-only folder: one message naming the file
        ws.message.emit("error", messages.SAVE_FAILED.format(path=path, why=messages.why(exc, path)))
        return None
    if not quiet:
        ws.message.emit("info", messages.WORKSPACE_SAVED.format(path=path))
    return path


def reopen(ws: Host, path: str | Path) -> None:
    """Open what the file at ``path`` lists, then restore what it showed; ``workspace_loaded`` follows."""
    try:
        state = load_workspace_file(path)
    except InputError as exc:
        text = str(exc)
        if "newer version" not in text:
            text = messages.WORKSPACE_FAILED.format(path=path, why=text)
        ws.message.emit("error", text)
        return
    ws.device.spec, ws.device.precision = state.device, state.precision
    c = ws.catalog
    datasets = [(d["path"], d.get("skip_list")) for d in state.datasets]
    if state.video:  # files of the first version list a video apart: it is a dataset
        datasets.append((state.video, None))
    failures: dict[int, str] = {}  # every file that did not open, in the file's order, in one message
    report = lambda i: lambda text: failures.__setitem__(i, text)  # noqa: E731
    tasks = [ws.open_dataset(p, skip, on_error=report(i)) for i, (p, skip) in enumerate(datasets)
             if p not in c.datasets]
    listed = [(len(datasets) + i, k) for i, k in enumerate(state.checkpoints) if k not in c.checkpoints]
    shown = {state.active_checkpoint, state.lift_source}  # what the restored view draws: opened first,
    tasks += _open_listed(ws, state, [(i, k) for i, k in listed if k in shown], report)  # not competing
    rest: list = []

    def opened_shown() -> None:  # the view as it was, predictions and all, while the others load
        _restore_view(ws, state)
        rest.extend(_open_listed(ws, state, [(i, k) for i, k in listed if k not in shown], report))
        when_all_finished(rest, complete)

    def complete() -> None:
        _report_failures(ws, [failures[i] for i in sorted(failures)], len(tasks) + len(rest))
        _restore_checkpoints(ws, state)
        ws.file_opened.emit(str(Path(path).resolve()))
        ws.workspace_loaded.emit(str(path))

    when_all_finished(tasks, opened_shown)


def _open_listed(ws: Host, state: WorkspaceState, listed: list[tuple[int, str]], report) -> list[Task]:
    """Open the checkpoints and prediction files ``listed`` ((position in the file, key)), none made active."""
    return [ws.open_predictions(k, state.units[k], activate=False, on_error=report(i)) if k in state.units
            else ws.open_checkpoint(k, activate=False, on_error=report(i)) for i, k in listed]


def _restore_view(ws: Host, state: WorkspaceState) -> None:
    """Show what ``state`` showed, of what is open now: the dataset, the active checkpoint and its
    lift source, the browse state, the view options and the sample."""
    c = ws.catalog
    current, selection = state.current_dataset, state.selection
    if state.video_frame and state.video in c.datasets:  # a first-version file showing its video
        current, selection = state.video, state.video_frame
    if current in c.datasets:
        ws.set_current_dataset(current)
    if state.active_checkpoint in c.checkpoints:
        ws.set_active_checkpoint(state.active_checkpoint)
    if state.lift_source in c.checkpoints:
        ws.set_lift_source(state.lift_source)
    browse = ws.browse.state.with_sort(state.sort)
    for name, value in state.filters.items():
        if value is not None and name in browsing.FILTERS:
            browse = browse.with_filter(name, value)
    ws.set_browse_state(browse)
    ws.options.update(state.options)
    if c.dataset is not None and 0 <= selection < len(c.dataset):
        ws.select(selection)


def _restore_checkpoints(ws: Host, state: WorkspaceState) -> None:
    """Once every file is open: the checkpoints' order, an active checkpoint when the saved one is
    gone (one with a pose head) and Compare's pair."""
    c = ws.catalog
    c.order_checkpoints(state.checkpoints)
    if c.active_key is None and c.checkpoints:  # the saved one is gone: one with a pose head
        heads = [k for k, ld in c.checkpoints.items() if ld.has_pose_head]
        ws.set_active_checkpoint((heads or list(c.checkpoints))[0])
    if len(state.compare) == 2 and all(k in c.checkpoints for k in state.compare):
        ws.compare_pair = tuple(state.compare)
        ws.compare_pair_changed.emit(ws.compare_pair)

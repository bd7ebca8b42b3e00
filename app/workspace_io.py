"""Saving and reopening a session: the :class:`~app.workspace.Workspace` half that speaks
:mod:`app.model.workspace_file`."""

from __future__ import annotations

from pathlib import Path

from app.model import messages
from app.model.workspace_file import WorkspaceState, load_workspace_file, save_workspace_file
from hpe_core.errors import InputError


class WorkspaceIO:
    """Mixed into ``Workspace``; uses its state attributes and signals."""

    def state(self) -> WorkspaceState:
        """A plain snapshot of what is open and shown."""
        return WorkspaceState(
            datasets=[{"path": k, "skip_list": e.skip_list} for k, e in self.datasets.items()
                      if Path(k).exists()],
            current_dataset=self.current_key,
            checkpoints=list(self.checkpoints),
            active_checkpoint=self.active_key,
            selection=int(self.selection),
            filters=dict(self.filters),
            sort=self.sort,
            options=dict(self.options),
            device=self.device_spec,
            precision=self.precision,
            video=None if self.video.info is None else str(self.video.info.path),
            video_frame=int(self.playback.frame) if self.mode == "video" else 0,
        )

    def save_workspace(self, path: str | Path, quiet: bool = False) -> Path | None:
        try:
            path = save_workspace_file(path, self.state())
        except OSError as exc:
            self.message.emit("error", messages.OPEN_FAILED.format(path=path, why=exc.strerror or exc))
            return None
        if not quiet:
            self.message.emit("info", messages.WORKSPACE_SAVED.format(path=path))
        return path

    def open_workspace(self, path: str | Path) -> None:
        """Reopen a saved session; ``workspace_loaded`` follows once everything is open."""
        try:
            state = load_workspace_file(path)
        except InputError as exc:
            text = str(exc)
            if "newer version" not in text:
                text = messages.WORKSPACE_FAILED.format(path=path, why=text)
            self.message.emit("error", text)
            return None
        self.device_spec, self.precision = state.device, state.precision
        todo = [d["path"] for d in state.datasets if d["path"] not in self.datasets]
        tasks = [self.open_dataset(d["path"], d.get("skip_list")) for d in state.datasets
                 if d["path"] in todo]
        tasks += [self.open_checkpoint(c) for c in state.checkpoints if c not in self.checkpoints]
        if state.video:
            tasks.append(self.open_video(state.video))
        from app.workspace import _when_all_finished

        _when_all_finished([t for t in tasks if t.is_running()],
                           lambda: self._apply_state(state, str(path)))
        return None

    def _apply_state(self, state: WorkspaceState, path: str) -> None:
        if state.current_dataset in self.datasets:
            self.set_current_dataset(state.current_dataset)
        if state.active_checkpoint in self.checkpoints:
            self.set_active_checkpoint(state.active_checkpoint)
        for name, value in state.filters.items():
            if value is not None:
                self.set_filter(name, value)
        self.set_sort(state.sort)
        for name, value in state.options.items():
            self.set_option(name, value)
        if state.video_frame and self.video.info is not None:
            self.set_mode("video")
            self.playback.set_frame(state.video_frame)
        elif self.dataset is not None and 0 <= state.selection < len(self.dataset):
            self.select(state.selection)
        self.file_opened.emit(str(Path(path).resolve()))
        self.workspace_loaded.emit(str(path))

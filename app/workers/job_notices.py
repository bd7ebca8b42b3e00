"""What the training jobs tell the workspace: finished jobs' checkpoints join it, their outcome and
the job owner's warnings reach its message bar."""

from __future__ import annotations

from pathlib import Path

from app.model.messages import JOB_DONE, JOB_FAILED


def connect_workspace(manager, workspace) -> None:
    """Finished jobs' checkpoints join ``workspace``; their outcome and the manager's warnings
    reach its message bar."""

    def finished(job_id: str, state: str) -> None:
        rec = manager.job(job_id).record
        if state == "failed":
            workspace.message.emit("error", JOB_FAILED.format(name=rec.name, why=rec.message))
        elif state == "done" and rec.external and not (rec.checkpoint and Path(rec.checkpoint).is_file()):
            from app.workers.remote_jobs import FINISHED_REMOTELY

            workspace.message.emit("info", FINISHED_REMOTELY.format(name=rec.name))
        elif state == "done" and rec.checkpoint:
            workspace.message.emit("info", JOB_DONE.format(name=rec.name, path=rec.checkpoint))

    manager.job_finished.connect(finished)
    manager.checkpoint_ready.connect(workspace.open_checkpoint)
    manager.message.connect(workspace.message)
    warning = manager.take_warning()
    if warning:
        workspace.message.emit("warning", warning)

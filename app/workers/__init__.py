"""Workers: one thread adapter (:class:`Task`) for ``run(spec, progress)`` functions."""

from app.workers.task import Task, TaskSlot

__all__ = ["Task", "TaskSlot"]

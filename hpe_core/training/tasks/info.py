"""What a training task declares without loading torch: the table's entries.

A :class:`TaskInfo` names the task, the model family it trains, the dataset columns it needs
(:data:`COLUMNS`), the config section it owns (its :class:`TaskOptions` dataclass) and the smallest
batch it can train on; ``trainer()`` returns the class that trains it (that import loads torch).
The config schema, ``validate``, the CLI and the GUI's form read these declarations, never a
task's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from hpe_core.errors import InputError

# the dataset columns a task can need, and what each one means
COLUMNS = {
    "images": "images (a reader that only holds joints has none)",
    "joints_2d": "2D joints",
    "joints_3d": "3D joints (a 2D-only dataset such as COCO keypoints has none)",
    "pose_id": "pose ids (which samples show the same physical pose)",
    "cameras": "camera calibrations",
}


class TaskOptions:
    """Base of a task's options: a frozen dataclass whose fields are its config section's keys."""

    section: ClassVar[str] = ""  # the config section's name ("regression": regression.head_layers, ...)

    def validate(self, config: Any) -> None:
        """Raise :class:`InputError` naming the first bad key of the section; ``config`` is the whole
        config, for the rules that span two sections."""

    def paths(self) -> dict[str, str | None]:
        """``{dotted key: path}`` of the files this section names that must exist (None: not used)."""
        return {}


@dataclass(frozen=True)
class TaskInfo:
    name: str
    family: str  # the model family it trains (a key of hpe_core.models.families.FAMILIES)
    columns: tuple[str, ...]  # dataset columns it needs (keys of COLUMNS)
    trainer: Callable[[], type] = field(compare=False, repr=False)  # the Task class (imports torch)
    options: type[TaskOptions] | None = None  # the config section it owns (None: none)
    min_batch: int = 1  # contrastive tasks take their negatives from the batch: 2

    @property
    def section(self) -> str | None:
        return self.options.section if self.options is not None else None

    def validate(self, config: Any) -> None:
        """The task's checks of ``config``: its batch size, then its own section's ``validate``."""
        if config.train.batch_size < self.min_batch:
            raise InputError(f"train.batch_size: contrastive training needs at least {self.min_batch}, "
                             f"got {config.train.batch_size}")
        if self.section is not None:
            getattr(config, self.section).validate(config)

    def paths(self, config: Any) -> dict[str, str | None]:
        """The files the task's section of ``config`` names (see :meth:`TaskOptions.paths`)."""
        return getattr(config, self.section).paths() if self.section is not None else {}


def has_column(dataset, column: str) -> bool:
    from hpe_core.datasets.base import NoImages

    if column == "images":
        return not isinstance(getattr(dataset, "images", None), NoImages)
    if column == "cameras":
        return bool(getattr(dataset, "cameras", None))
    if column == "joints_3d":
        return getattr(dataset, "joints_3d", None) is not None
    if column == "pose_id":
        return getattr(dataset, "pose_id", None) is not None
    return bool(dataset.has(column))


def missing_columns(task, dataset) -> list[str]:
    """The columns of ``task.columns`` that ``dataset`` lacks, in declaration order."""
    return [c for c in task.columns if not has_column(dataset, c)]


def check_columns(task, dataset, where: str = "dataset") -> None:
    """InputError naming the first column ``task`` (anything with ``name`` and ``columns``) needs
    that ``dataset`` lacks (one line)."""
    missing = missing_columns(task, dataset)
    if missing:
        fmt = getattr(dataset, "format", "this")
        raise InputError(f"{where}: the {task.name} task needs the dataset column '{missing[0]}' "
                         f"({COLUMNS[missing[0]]}), which this {fmt} dataset lacks")

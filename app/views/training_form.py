"""A form generated from the training config dataclasses (:mod:`hpe_core.training.config`).

One group per section, one widget per field chosen by its type: a combo box for ``Literal``,
a check box for ``bool``, a line edit for the rest (empty means null). The common sections are
always shown; of the task sections (each task's declared options, :data:`~hpe_core.training.tasks.TASKS`)
only the chosen task's. Each widget gives its value typed (a number field's text is read as the
CLI reads a ``--set`` value), the form's values become the config's plain data, then
``config_from_dict`` and ``validate``: the same checks and the same messages as ``hpe train``.
Validation runs as you type; the field a message names is marked, and the message is shown in
words (:func:`in_words`: the field's label, not the CLI's ``--set key=value`` syntax).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from typing import Callable, Literal

import yaml
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QToolButton, QVBoxLayout, QWidget)

from hpe_core.errors import InputError
from hpe_core.file_kinds import CHECKPOINT_SUFFIXES
from hpe_core.training.config import Config, config_from_dict, validate
from hpe_core.training.config_data import parse_scalar
from hpe_core.training.tasks import TASKS, task_sections

#: fields that hold a file path: they get a browse button
CHECKPOINTS_FILTER = "Checkpoints (*" + " *".join(sorted(CHECKPOINT_SUFFIXES)) + ");;All files (*)"
PATH_FIELDS = {"data.skip_list": "Skip lists (*.txt);;All files (*)",
               "model.init": CHECKPOINTS_FILTER, "regression.encoder": CHECKPOINTS_FILTER}
_KEY_IN_MESSAGE = re.compile(r"^(?:unknown key ')?([a-z_]+\.[a-z_]+)")
INVALID_STYLE = "border: 1px solid #d9534f;"
#: the form's labels of fields placed outside their section (the training panel's top rows)
FIELD_LABELS = {"data.path": "Dataset", "train.device": "Device", "train.output": "Output folder"}
_SET_HINT = re.compile(r";? ?set it in the config or with --set [a-z_]+\.[a-z_]+=\S+")
_SET_EXAMPLE = re.compile(r"\(--set [a-z_]+\.[a-z_]+=([^)\s]+)\)")
_KEY_EQ = re.compile(r"\b[a-z_]+\.[a-z_]+=(\S+)")
_KEY = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\b")
_WORDS = {"expected an integer": "must be a whole number", "expected a number": "must be a number",
          "expected a string": "must be text", "expected true or false": "must be ticked or not",
          "expected a mapping": "must be a set of name: value pairs such as {a: 1}"}


def field_label(key: str) -> str:
    """How the form names the field ``section.name``: "Dataset", or "train › epochs"."""
    section, _, name = key.partition(".")
    return FIELD_LABELS.get(key) or f"{section} › {name.replace('_', ' ')}"


def in_words(message: str) -> str:
    """A config message (the CLI's, written for ``--set``) as the form says it: fields by their
    labels, examples without the ``--set key=`` syntax."""
    text = _SET_HINT.sub("; choose one in the Dataset field", message)
    text = _SET_EXAMPLE.sub(r"(e.g. \1)", text)
    text = _KEY_EQ.sub(r"\1", text)
    for cli, words in _WORDS.items():
        text = text.replace(cli, words)
    text = re.sub(r"\bgot (?:str|int|float|bool|list|dict) ", "got ", text)
    sections = {f.name for f in dataclasses.fields(Config)}
    return _KEY.sub(lambda m: field_label(m.group(0)) if m.group(1) in sections else m.group(0), text)


class WheelGuard(QObject):
    """The mouse wheel over a combo or spin box without focus scrolls what holds it (the form's
    scroll area) instead of changing its value; once clicked or tabbed to, the field takes the wheel."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            event.ignore()  # left to the parents: the scroll area scrolls
            return True
        return False


def guard_wheel(root: QWidget) -> WheelGuard:
    """Guard every combo and spin box under ``root`` (see :class:`WheelGuard`); the guard is
    ``root``'s child. Focus comes by click or tab, never by the wheel."""
    guard = WheelGuard(root)
    for widget in [*root.findChildren(QComboBox), *root.findChildren(QAbstractSpinBox)]:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(guard)
    return guard


@dataclasses.dataclass
class Field:
    key: str  # "section.name"
    widget: QWidget
    get: Callable[[], object]  # the value, typed (text the field's type cannot read stays text)
    set: Callable[[object], None]
    tip: str = ""


def field_comments(cls) -> dict[str, str]:
    """The ``# comment`` after each field in the dataclass's source (tooltips); {} if unavailable."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    found = re.findall(r"^\s+(\w+):[^#\n]*#\s*(.+)$", source, flags=re.MULTILINE)
    return {name: text.strip() for name, text in found}


def scalar_text(value) -> str:
    """A value as a line edit shows it (empty for null): a string as it is, the rest as YAML."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


class TrainingForm(QWidget):
    """Edits every field of a :class:`Config` except the task, which :meth:`set_task` sets."""

    validity_changed = Signal(bool)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task = next(iter(TASKS))  # set_task chooses
        self.fields: dict[str, Field] = {}
        self.groups: dict[str, QGroupBox] = {}
        self.error_label = QLabel(wordWrap=True, objectName="formError")
        self.error_label.setStyleSheet("color: #d9534f;")
        self.config: Config | None = None
        self.error: str | None = None
        self.error_key: str | None = None
        self._timer = QTimer(self, singleShot=True, interval=120)
        self._timer.timeout.connect(self.revalidate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        hints = typing.get_type_hints(Config)
        for section in dataclasses.fields(Config):
            if section.name != "task":
                layout.addWidget(self._section(section.name, hints[section.name]))
        self.task_sections = tuple(task_sections())  # shown one at a time: the chosen task's
        self._show_task_section()
        layout.addStretch(1)  # ``error_label`` is placed by the owner, where it stays in sight

    # ------------------------------------------------------------------ building
    def _section(self, name: str, cls) -> QGroupBox:
        box = QGroupBox(name, objectName=f"section_{name}")
        form = QFormLayout(box)
        comments = field_comments(cls)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key = f"{name}.{f.name}"
            field = self._widget(key, hints[f.name])
            field.tip = comments.get(f.name, "")
            field.widget.setToolTip(field.tip)
            self.fields[key] = field
            form.addRow(f.name, self._with_browse(field) if key in PATH_FIELDS else field.widget)
        self.groups[name] = box
        return box

    def _widget(self, key: str, hint) -> Field:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) is Literal:
            choices = typing.get_args(hint)
            combo = QComboBox(objectName=key)
            combo.addItems([str(a) for a in choices])
            combo.currentIndexChanged.connect(self._on_edited)
            return Field(key, combo, lambda c=combo: choices[c.currentIndex()],
                         lambda v, c=combo: c.setCurrentText(str(v)))
        if hint is bool:
            box = QCheckBox(objectName=key)
            box.toggled.connect(self._on_edited)
            return Field(key, box, box.isChecked, lambda v, b=box: b.setChecked(bool(v)))
        edit = QLineEdit(objectName=key)
        if type(None) in typing.get_args(hint):
            edit.setPlaceholderText("none")
        if args and args[0] is dict or hint is dict:
            edit.setPlaceholderText("{}")
        edit.textEdited.connect(self._on_edited)
        text_field = hint is str or args == [str]
        return Field(key, edit, lambda e=edit: (e.text() or None) if text_field else parse_scalar(e.text()),
                     lambda v, e=edit: e.setText(scalar_text(v)))

    def _with_browse(self, field: Field) -> QWidget:
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(field.widget, 1)
        button = QToolButton(text="…", toolTip="Choose a file", objectName=f"browse_{field.key}")
        button.clicked.connect(lambda _=False, f=field: self._browse(f))
        lay.addWidget(button)
        return row

    def _browse(self, field: Field) -> None:
        path, _ = QFileDialog.getOpenFileName(self, field.key, "", PATH_FIELDS[field.key])
        if path:
            field.set(path)
            self._on_edited()

    def register(self, key: str, widget: QWidget, get: Callable[[], object], set_: Callable[[object], None]) -> None:
        """Let a widget outside the form (the dataset or device picker) edit ``key``."""
        old = self.fields.get(key)
        if old is not None:
            old.widget.setVisible(False)
            layout = old.widget.parentWidget().layout()
            if isinstance(layout, QFormLayout):
                layout.setRowVisible(old.widget, False)
        self.fields[key] = Field(key, widget, get, set_, widget.toolTip())

    # ------------------------------------------------------------------ values
    def set_task(self, task: str) -> None:
        """Choose the task: its own section (if it has one) is the only task section shown."""
        self.task = task
        self._show_task_section()
        self._on_edited()

    def _show_task_section(self) -> None:
        for section in self.task_sections:
            self.groups[section].setVisible(section == TASKS[self.task].section)

    def set_config(self, config: Config) -> None:
        """Show every value of ``config`` (its task too)."""
        values = config.to_dict()
        for key, field in self.fields.items():
            section, name = key.split(".")
            field.set(values[section][name])
        self.set_task(config.task)
        self.revalidate()

    def raw(self) -> dict:
        """The form as plain config data (what a config file holds), each value typed."""
        raw: dict = {"task": self.task}
        for key, field in self.fields.items():
            section, name = key.split(".")
            raw.setdefault(section, {})[name] = field.get()
        return raw

    # ------------------------------------------------------------------ validation
    def _on_edited(self, *_args) -> None:
        self.changed.emit()
        self._timer.start()

    def revalidate(self) -> Config | None:
        """Check the form as ``hpe train`` would; remember and show the first problem."""
        was_valid = self.error is None and self.config is not None
        try:
            self.config, self.error = validate(config_from_dict(self.raw())), None
        except InputError as exc:
            self.config, self.error = None, str(exc)
        self._show_error()
        valid = self.error is None
        if valid != was_valid:
            self.validity_changed.emit(valid)
        return self.config

    def _show_error(self) -> None:
        match = _KEY_IN_MESSAGE.match(self.error or "")
        key = match.group(1) if match and match.group(1) in self.fields else None
        if key != self.error_key:
            for k in (self.error_key, key):
                if k is not None:
                    field = self.fields[k]
                    field.widget.setStyleSheet(INVALID_STYLE if k == key else "")
                    field.widget.setToolTip(self.error if k == key else field.tip)
        self.error_key = key
        self.error_label.setText(in_words(self.error) if self.error else "")

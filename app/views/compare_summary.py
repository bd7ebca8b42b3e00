"""``CompareSummary``: Compare as it fits a docked panel: both checkpoints' error measures, A − B and
the verdict (``hpe_core.analysis.compare.pose_verdict``), and a button that opens the full view.
Numbers in; nothing computed."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.model import messages as msg

FULL_TIP = "Compare in full: the embeddings side by side, the table of every measure, silhouettes, CKA, conv1"


def _label(text: str = "", name: str = "", align=None) -> QLabel:
    label = QLabel(text, objectName=name)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the dock
    if align is not None:
        label.setAlignment(align)
    return label


class CompareSummary(QWidget):
    """The measures of A and B, A − B and the verdict; ``open_full`` when the button is pressed."""

    open_full = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        self.names = _label(name="compareSummaryNames")
        self.headers = [_label(t, align=right) for t in ("A", "B", "A − B")]
        # one row per pose error: the verdict's measure first and bold, then the other
        self.rows = [[_label(name=f"compareSummary{r}{c}", align=None if c == "Measure" else right)
                      for c in ("Measure", "A", "B", "Diff")] for r in (0, 1)]
        self.also = _label(name="compareSummaryAlso")  # each checkpoint's measure, what is not meaningful
        self.verdict = _label(msg.COMPARE_HINT, "compareVerdict")
        self.full = QPushButton("Open the full view", toolTip=FULL_TIP)
        self.full.clicked.connect(self.open_full)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(0, 2)
        for c, w in enumerate(self.headers, start=1):
            grid.addWidget(w, 0, c)
            grid.setColumnStretch(c, 1)
        for r, row in enumerate(self.rows, start=1):
            for c, w in enumerate(row):
                grid.addWidget(w, r, c)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.names)
        layout.addLayout(grid)
        layout.addWidget(self.also)
        layout.addWidget(self.verdict)
        layout.addWidget(self.full, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.clear()

    def labels(self) -> list[QLabel]:
        return [self.names, *self.headers, *(w for row in self.rows for w in row), self.also, self.verdict]

    def clear(self, text: str = msg.COMPARE_HINT) -> None:
        for w in self.labels():
            w.setText("")
        for w in self.headers:
            w.setVisible(False)
        self.verdict.setText(text)

    def set_result(self, result, names: dict[str, str]) -> None:
        """``result``: a ``CompareResult``; ``names``: {"a", "b"} -> the checkpoints' file names."""
        from hpe_core.analysis.compare import pose_verdict

        verdict = pose_verdict(result)
        if verdict is None:
            self.clear(msg.COMPARE_NO_POSES)
            return
        self.names.setText(f"<b>A</b>: {names['a']}<br><b>B</b>: {names['b']}")
        for w, title in zip(self.headers, ("A", "B", "A − B")):
            w.setText(title)
            w.setVisible(True)
        own = result.error_measure or {}
        rotation_aligned = "PA-MPJPE" in own.values()
        other = "MPJPE" if verdict.measure == "PA-MPJPE" else "PA-MPJPE"
        keys = {"MPJPE": "mpjpe", "PA-MPJPE": "pa_mpjpe"}
        for row, measure in zip(self.rows, (verdict.measure, other)):
            a, b = (float(result.metrics[k][keys[measure]]) for k in ("a", "b"))
            marked = measure == "MPJPE" and rotation_aligned
            title = f"<b>{measure}</b> (mm)" if measure == verdict.measure else f"{measure}{'*' if marked else ''} (mm)"
            for w, text in zip(row, (title, f"{a:.1f}", f"{b:.1f}", f"{a - b:+.1f}")):
                w.setText(text if measure != verdict.measure or w is row[0] else f"<b>{text}</b>")
        note = " · * not meaningful for a head trained up to a rotation" if rotation_aligned else ""
        self.also.setText(f"Read by: A {own.get('a', '—')}, B {own.get('b', '—')} · "
                          f"{result.samples:,} samples{note}")
        self.verdict.setText(f"Verdict: <b>{verdict.sentence(names)}</b>")

"""The one table of every benchmark's latest figures and their aims, kept in bench/README.md.

A benchmark run with ``--record`` calls :func:`record` with its figures; each row is keyed by
(benchmark, figure) and replaced in place, so the table always shows the latest run of each.
The file is rewritten atomically (``hpe_core.atomic``).
"""

from __future__ import annotations

import datetime
from contextlib import contextmanager
import os
import sys
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
HEADER = ("| Benchmark | Figure | Latest | Aim | Run |", "|---|---|---|---|---|")


def _rows(text: str) -> dict[tuple[str, str], str]:
    body = text.split(START, 1)[1].split(END, 1)[0] if START in text else ""
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("Benchmark", "---"):
            rows[(cells[0], cells[1])] = line.strip()
    return rows


def record(bench: str, figures: list[tuple[str, str, str]], note: str = "", path: Path = README) -> None:
    """Put ``figures`` ((figure, latest, aim) each) of ``bench`` into the table of ``path``."""
    from hpe_core.atomic import atomic_write

    text = path.read_text(encoding="utf-8") if path.is_file() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    rows = _rows(text)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    run = f"{when}, {os.cpu_count()} CPUs, load {load:.1f}" + (f"; {note}" if note else "")
    for figure, latest, aim in figures:
        rows[(bench, figure)] = f"| {bench} | {figure} | {latest} | {aim} | {run} |"
    table = "\n".join([*HEADER, *(rows[k] for k in sorted(rows))])
    head, rest = text.split(START, 1)
    atomic_write(path, f"{head}{START}\n{table}\n{END}{rest.split(END, 1)[1]}")
    print(f"recorded {len(figures)} figure(s) of {bench} in {path}", file=sys.stderr)


class _Tee:
    def __init__(self, stream) -> None:
        self.stream, self.lines = stream, []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        self.lines += done
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _figures(lines: list[str]) -> list[tuple[str, str, str]]:
    """(figure, latest, aim) of each printed line that states a ratio or an aim."""
    import re

    out = []
    for line in lines:
        text = line.strip()
        if not re.search(r"ratio|aim|\d\s*x\b|\dx\b", text):
            continue
        aim = re.search(r"\((?:aim|target)\s*([^)]*)\)", text)
        if ":" in text[:60]:
            label, _, rest = text.partition(":")
        else:
            label = re.match(r"\D*", text).group(0).strip() or text[:40]
            rest = text[len(label):]
        latest = re.sub(r"\s+", " ", (rest or text).replace("|", "/")).strip()
        out.append((label.strip().replace("|", "/"), latest[:160], aim.group(1).strip() if aim else "-"))
    return out


@contextmanager
def recording(bench: str):
    """With ``--record`` on the command line (removed from ``sys.argv`` here), keep what the block
    prints and put every line that states a ratio or an aim into the table."""
    if "--record" not in sys.argv:
        yield
        return
    sys.argv.remove("--record")
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    try:
        yield
    finally:
        sys.stdout = tee.stream
        figures = _figures(tee.lines + [tee._partial])
        if figures:
            record(bench, figures)

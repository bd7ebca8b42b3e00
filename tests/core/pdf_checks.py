"""A PDF read back as poppler sees it (the tools of poppler-utils, which .ci/run installs): each
page's text laid out, its bold and grey words, its images and fonts, and each page rasterised."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

TOOLS = ("pdftotext", "pdftohtml", "pdffonts", "pdfimages", "pdftoppm")
needs_poppler = pytest.mark.skipif(not all(shutil.which(t) for t in TOOLS),
                                   reason="poppler-utils (pdftotext, pdffonts, ...; in .ci/run) not installed")
CAPTION = re.compile(r"(Figure|Table) (\d+): (.+?)(?:\s{3,}|$)")


def _run(*argv) -> str:
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True).stdout


def page_texts(pdf: Path) -> list[str]:
    """Each page's text as ``pdftotext -layout`` lays it out (pages end with a form feed)."""
    return _run("pdftotext", "-layout", pdf, "-").split("\f")[:-1]


def captions(text: str) -> list[tuple[str, int, str]]:
    """``(kind, number, first line of the caption)`` of every caption on a page's text."""
    return [(m[1], int(m[2]), m[3]) for m in (CAPTION.search(line) for line in text.splitlines()) if m]


def orphan_captions(pages: list[str]) -> list[str]:
    """Table captions that end a page (their table starts on the next one)."""
    out = []
    for text in pages:
        lines = [line for line in text.splitlines() if line.strip()]
        tail = lines[-2:-1] if lines and re.fullmatch(r"\s*\d+ / \d+\s*", lines[-1]) else lines[-1:]
        out += [line.strip() for line in tail if any(kind == "Table" for kind, _, _ in captions(line))]
    return out


def words(pdf: Path) -> list[dict]:
    """Every text run: ``{"page", "top", "text", "bold", "colour"}`` (``pdftohtml -xml``)."""
    xml = _run("pdftohtml", "-xml", "-i", "-stdout", "-q", pdf)
    colours = dict(re.findall(r'<fontspec id="(\d+)"[^>]*color="(#[0-9a-fA-F]{6})"', xml))
    out, page = [], 0
    for line in xml.splitlines():
        if line.startswith("<page "):
            page = int(re.search(r'number="(\d+)"', line)[1])
        m = re.match(r'<text top="(\d+)"[^>]*font="(\d+)">(.*)</text>$', line)
        if m:
            out.append({"page": page, "top": int(m[1]), "text": unescape(re.sub(r"<[^>]+>", "", m[3])).strip(),
                        "bold": "<b>" in m[3], "colour": colours.get(m[2], "#000000").lower()})
    return out


def row_runs(runs: list[dict], label: str) -> list[dict]:
    """The runs on the line of the first run reading ``label`` (a table's row), label included."""
    first = next(w for w in runs if w["text"] == label)
    return [w for w in runs if w["page"] == first["page"] and abs(w["top"] - first["top"]) <= 2]


def fonts(pdf: Path) -> list[tuple[str, bool]]:
    """``(font name, embedded)`` of every font (``pdffonts``)."""
    lines = _run("pdffonts", pdf).splitlines()[2:]
    return [(line.split()[0], line.split()[-5] == "yes") for line in lines]


def images_per_page(pdf: Path) -> dict[int, int]:
    """How many images (masks not counted) each page draws (``pdfimages -list``)."""
    counts: dict[int, int] = {}
    for line in _run("pdfimages", "-list", pdf).splitlines()[2:]:
        cols = line.split()
        if cols[2] == "image":
            counts[int(cols[0])] = counts.get(int(cols[0]), 0) + 1
    return counts


def rasterise(pdf: Path, folder: Path, dpi: int = 30) -> list:
    """Each page as an image (``pdftoppm``), read back with OpenCV."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / pdf.stem
    _run("pdftoppm", "-r", dpi, "-png", pdf, prefix)
    return [cv2.imread(str(p)) for p in sorted(folder.glob(f"{pdf.stem}-*.png"))]

"""Checks of an exported figure's layout, read back from the file: its size (PNG px, SVG px, PDF pt
through ``pdfinfo`` and its ``pdftoppm`` raster), and its words' boxes (``pdftotext -bbox``): every
word inside the page, no two words overlapping, the axis labels present."""

from __future__ import annotations

import re
import unicodedata
import subprocess
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

PT_PER_PX = 0.75
# Glyph boxes of pdftotext are the font's ascent-to-descent boxes, so two lines of 8-pt text set
# one line apart touch; an overlap is counted only when the boxes share more than this in both
# directions (a tenth of a 10-pt line), which two glyphs drawn over each other always do.
OVERLAP_PT = 1.0


def png_size(path: Path) -> tuple[int, int]:
    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not an image"
    return image.width(), image.height()


def svg_size(path: Path) -> tuple[float, float]:
    """The SVG's width and height in CSS px (96 per inch)."""
    root = ET.parse(path).getroot()
    per_unit = {"": 1.0, "px": 1.0, "pt": 96 / 72, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
    size = [re.fullmatch(r"([\d.]+)\s*([a-z]*)", root.get(k)).groups() for k in ("width", "height")]
    return tuple(round(float(v) * per_unit[unit], 1) for v, unit in size)


def pdf_size(path: Path) -> tuple[float, float]:
    """The page size in pt."""
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=60).stdout
    w, h = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", out).groups()
    return float(w), float(h)


def pdf_raster(path: Path, folder: Path, dpi: int = 96) -> np.ndarray:
    """The page rasterised by pdftoppm at ``dpi`` (96 dpi: 1 px of the figure = 1 px), (H, W, 3)."""
    out = folder / f"{path.stem}-raster"
    subprocess.run(["pdftoppm", "-png", "-singlefile", "-r", str(dpi), str(path), str(out)], check=True, timeout=60)
    image = QImage(str(out.with_suffix(".png"))).convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, :3 * image.width()].reshape(image.height(), image.width(), 3)


def pdf_words(path: Path) -> tuple[tuple[float, float], list[tuple[str, tuple[float, float, float, float]]]]:
    """((page width, height) pt, [(word, (x0, y0, x1, y1) pt)])."""
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', html)
    pattern = r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">([^<]*)</word>'
    words = [(unicodedata.normalize("NFKC", unescape(m.group(5))),  # the ligature "ﬁ" reads "fi"
              tuple(float(m.group(i)) for i in range(1, 5))) for m in re.finditer(pattern, html)]
    return (float(page.group(1)), float(page.group(2))), words


def layout_faults(page: tuple[float, float], words: list) -> list[str]:
    """Words outside the page, over one another, or run together, in words."""
    faults = []
    for word, (x0, y0, x1, y1) in words:
        if x0 < -0.5 or y0 < -0.5 or x1 > page[0] + 0.5 or y1 > page[1] + 0.5:
            faults.append(f"{word!r} at {x0:.0f},{y0:.0f}-{x1:.0f},{y1:.0f} leaves the {page[0]:.0f} x {page[1]:.0f} page")
        if re.search(r"\d\.\d+[-+]?\d+\.\d", word):
            faults.append(f"{word!r}: numbers drawn into one another")
    boxes = np.array([b for _, b in words]).reshape(-1, 4)
    for i in range(len(words)):
        dx = np.minimum(boxes[i, 2], boxes[i + 1:, 2]) - np.maximum(boxes[i, 0], boxes[i + 1:, 0])
        dy = np.minimum(boxes[i, 3], boxes[i + 1:, 3]) - np.maximum(boxes[i, 1], boxes[i + 1:, 1])
        for j in np.nonzero((dx > OVERLAP_PT) & (dy > OVERLAP_PT))[0]:
            faults.append(f"{words[i][0]!r} overlaps {words[i + 1 + j][0]!r}")
    return faults


def missing(phrases: list[str], words: list) -> list[str]:
    """The phrases not found as whole words, in reading order: a phrase cut by the canvas or run
    into its neighbour (two labels drawn over each other read as one word) is missing. A phrase
    listed n times must be found n times (a row label and a column label of the same name)."""
    text = f" {' '.join(w for w, _ in words)} "
    out = []
    for phrase in dict.fromkeys(phrases):
        if text.count(f" {' '.join(phrase.split())} ") < phrases.count(phrase):
            out.append(phrase)
    return out

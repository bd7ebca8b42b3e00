"""Skip lists: text files naming samples to leave out, one per line (``#`` starts a comment).

A line matches a sample when it equals the sample's name (its image path relative to the
dataset, as ``hpe data check`` writes it), the file name alone, or the file name without its
extension (CMU Panoptic's ``green_images.txt`` lists bare frame names).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hpe_core.datasets.fileio import read_text, write_atomic

HEADER = "# HPE Studio skip list: one sample name per line\n"


def read_skip_list(path: str | Path) -> set[str]:
    """The names listed in ``path`` (blank lines and comments dropped)."""
    text = read_text(path, "skip list", missing="skip list not found")
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if line:
            names.add(line.replace("\\", "/"))
    return names


def _keys(name: str) -> tuple[str, str, str]:
    base = name.rsplit("/", 1)[-1]
    return name, base, base.rsplit(".", 1)[0]


def skip_mask(names_of_rows, listed: set[str]) -> np.ndarray:
    """Boolean mask, True where a row's name is listed. ``names_of_rows``: iterable of str."""
    bare = {n for n in listed if "/" not in n}  # a bare name matches in any folder
    out = []
    for name in names_of_rows:
        full, base, stem = _keys(name)
        out.append(full in listed or base in bare or stem in bare)
    return np.array(out, dtype=bool)


def apply_skip_list(dataset, listed: set[str], source: str = "skip list"):
    """``dataset`` without the samples named in ``listed``; their names go to ``dataset.skipped``."""
    if not listed or len(dataset) == 0:
        return dataset
    names = [dataset.sample_name(i) for i in range(len(dataset))]
    mask = skip_mask(names, listed)
    if not mask.any():
        return dataset
    out = dataset.select(~mask)
    out.skipped = list(dataset.skipped) + [n for n, m in zip(names, mask) if m]
    return out


def write_skip_list(path: str | Path, names, comment: str = "") -> Path:
    """Write ``names`` (one per line) to ``path`` atomically."""
    lines = [HEADER]
    if comment:
        lines.append("".join(f"# {c}\n" for c in comment.splitlines()))
    lines.extend(f"{n}\n" for n in names)
    return write_atomic(path, "".join(lines))

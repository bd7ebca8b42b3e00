"""A dataset's fingerprint: what a report's provenance and the prediction cache key on."""

from __future__ import annotations

import hashlib

import numpy as np


CHUNK = 65536  # rows hashed at once: a column is never copied whole (the digest is that of its bytes)


def annotations_fingerprint(dataset) -> str:
    """sha256 of every sample's name and the 3D joints, visibility, action, camera and person box columns."""
    h = hashlib.sha256()
    h.update(str(len(dataset)).encode())
    for i in range(len(dataset)):
        h.update(dataset.sample_name(i).encode("utf-8") + b"\0")
    for name in ("joints_3d", "joints_2d", "visible", "action", "camera_id", "boxes"):  # boxes: what a model sees
        value = dataset.column(name)
        if value is not None:
            h.update(name.encode())
            for start in range(0, len(value), CHUNK):
                h.update(np.ascontiguousarray(value[start:start + CHUNK]).tobytes())
    return h.hexdigest()

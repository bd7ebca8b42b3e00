"""A synthetic dataset whose images are rendered when first read.

``synthesize(spec, lazy=True)`` writes the annotations only (seconds for the demo's 10,000
samples, where rendering every image takes more than a minute) and marks the manifest with
``"generator": {..., "render_on_demand": true}``. The native reader then reads images through
:class:`RenderedOnDemand`: an image file that is not there yet is rendered, encoded and written
(atomically) the first time anything asks for it, byte for byte the file ``synthesize`` would
have written (every view draws from its own seeded stream). So what is shown first (the
browser's first rows, the samples predicted first) is rendered first, and a second read is a
plain file read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from hpe_core.datasets.fileio import read_image, write_atomic

#: generator fields that are :class:`~hpe_core.datasets.synthetic.SynthSpec` fields
SPEC_FIELDS = ("poses", "cameras", "size", "seed", "corrupt", "subjects", "quality")


class RenderedOnDemand:
    """The image source of a lazily synthesised dataset (row ``p * cameras + c`` is pose ``p``
    seen by camera ``c``, as ``synthesize`` lays it out). Thread-safe; pickles without its
    renderer (a data-loader worker makes its own)."""

    def __init__(self, files, generator: dict) -> None:
        self.files = files  # the native reader's PatternImages: names and paths
        self.params = {k: generator[k] for k in SPEC_FIELDS if k in generator}
        self.rendered = 0  # images rendered by this process (tests count them)
        self.order: list[int] = []  # rows rendered by this process, in order
        self._reset()

    def _reset(self) -> None:
        self._maker = None
        self._faults: dict[int, str] = {}
        self._chunks: OrderedDict[int, dict] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"files": self.files, "params": self.params, "rendered": 0, "order": []}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset()

    def path(self, row: int) -> Path:
        return self.files.path(row)

    def name(self, row: int) -> str:
        return self.files.name(row)

    def load(self, row: int) -> np.ndarray:
        path = self.files.path(row)
        if not path.is_file():
            write_atomic(path, self.encoded(row))
            with self._lock:
                self.rendered += 1
                self.order.append(int(row))
        return read_image(path)

    def encoded(self, row: int) -> bytes:
        """The JPEG bytes of row ``row`` (rendered now)."""
        from hpe_core.datasets.synthetic.faults import encode
        from hpe_core.datasets.synthetic.scene import CHUNK

        maker = self._renderer()
        spec = maker.spec
        pose_id, camera = divmod(int(row), spec.cameras)
        chunk, k = divmod(pose_id, CHUNK)
        with self._lock:
            pose = self._chunks.get(chunk)
            if pose is None:
                pose = maker.poses(chunk, min(CHUNK, spec.poses - chunk * CHUNK))
                self._chunks[chunk] = pose
                while len(self._chunks) > 4:
                    self._chunks.popitem(last=False)
        image = maker.render(pose, k, camera, int(row))
        return encode(image, spec.quality, self._faults.get(int(row)), np.random.default_rng([spec.seed, 4, int(row)]))

    def _renderer(self):
        with self._lock:
            if self._maker is None:
                from hpe_core.datasets.synthetic import SynthSpec, planted_faults
                from hpe_core.datasets.synthetic.scene import SceneMaker

                spec = SynthSpec(out=self.files.root, **self.params)
                self._faults = planted_faults(spec)
                self._maker = SceneMaker(spec)
            return self._maker

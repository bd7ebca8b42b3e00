"""Poses, cameras and images of a synthetic dataset: the loop behind ``synthesize``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hpe_core.datasets.synthetic import body as body_mod
from hpe_core.datasets.synthetic import variety
from hpe_core.datasets.synthetic.actions import ACTION_NAMES, SEATED, sample_actions
from hpe_core.datasets.synthetic.appearance import background, make_look
from hpe_core.datasets.synthetic.cameras import camera_ring
from hpe_core.datasets.synthetic.render import View, aux_points, draw_floor, draw_person
from hpe_core.geometry import project, world_to_camera
from hpe_core.progress import check_cancelled

CHUNK = 256  # poses drawn per random stream; part of the definition of a seed


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


class SceneMaker:
    """Draws the poses of ``spec`` chunk by chunk and renders every camera's view of them."""

    def __init__(self, spec) -> None:
        self.spec = spec
        self.cameras = camera_ring(spec.cameras, spec.size, np.random.default_rng([spec.seed, 0]))
        subject_rng = np.random.default_rng([spec.seed, 3])
        self.bodies = [body_mod.make_body(subject_rng) for _ in range(spec.subjects)]
        self.looks = [make_look(subject_rng) for _ in range(spec.subjects)]
        self.seated = [ACTION_NAMES.index(a) for a in SEATED]

    def poses(self, chunk: int, n: int) -> dict:
        """World joints (n, 19, 3) and everything needed to draw the poses of one chunk."""
        rng = np.random.default_rng([self.spec.seed, 1, chunk])
        action = rng.integers(0, len(ACTION_NAMES), n)
        subject = rng.integers(0, self.spec.subjects, n)
        angles = sample_actions(rng, action)
        lengths = np.stack([self.bodies[s].lengths for s in subject])
        position = rng.uniform(-1, 1, (n, 2)) * 220.0
        joints, frames = body_mod.pose_joints(angles, lengths, position)
        scale = np.array([self.bodies[s].height / 1750.0 for s in subject])
        head_r = np.array([self.bodies[s].radii["head"] for s in subject])
        aux = aux_points(joints, frames, head_r, 150.0 * scale)
        light = _unit(np.stack([rng.uniform(-1, 1, n), -rng.uniform(0.3, 1.2, n), rng.uniform(-1, 1, n)], -1))
        return {"joints": joints, "aux": aux, "frames": frames, "light": light, "action": action,
                "subject": subject}

    def render(self, pose: dict, k: int, cam_id: int, index: int) -> np.ndarray:
        """(size, size, 3) uint8 RGB view of pose ``k`` of a chunk through camera ``cam_id``."""
        spec, cam = self.spec, self.cameras[cam_id]
        rng = np.random.default_rng([spec.seed, 2, index])
        img, floor = background(rng, spec.size)
        light, vary = pose["light"][k], None
        if getattr(spec, "views", "plain") == "varied":  # its own stream: the plain views stay as they were
            vary = variety.rng_for(spec.seed, index)
            img, light = variety.texture(img, vary), variety.light(light, vary)
        points = np.concatenate([pose["joints"][k], pose["aux"][k]])
        view = View(img, cam.K, cam.R, cam.t, points, light)
        body = self.bodies[pose["subject"][k]]
        draw_floor(view, cam.K, floor, rng, spec.size, 0.22 * body.height)
        frames = {key: (v[k] if not isinstance(v, dict) else {h: w[k] for h, w in v.items()})
                  for key, v in pose["frames"].items()}
        draw_person(view, pose["joints"][k], frames, body.radii, self.looks[pose["subject"][k]],
                    seated=int(pose["action"][k]) in self.seated)
        gain = rng.uniform(0.8, 1.15)
        if vary is not None:
            variety.occlude(view.img, view.uv[:19], vary)
            img = variety.camera_effects(view.img, vary)
        if abs(gain - 1) > 0.02:
            img = cv2.convertScaleAbs(img, alpha=gain, beta=0)
        return img

    def _arrays(self) -> dict:
        spec = self.spec
        C, P = spec.cameras, spec.poses
        n = P * C
        return {"joints_3d": np.zeros((n, 19, 3), np.float32), "joints_2d": np.zeros((n, 19, 2), np.float32),
                "visible": np.zeros((n, 19), bool), "pose_id": np.repeat(np.arange(P), C),
                "camera_id": np.tile(np.arange(C), P), "action": np.zeros(n, np.int32),
                "subject": np.zeros(n, np.int32), "sequence": np.zeros(n, np.int32),
                "frame": np.repeat(np.arange(P), C)}

    def annotate_all(self, root: Path, progress) -> dict:
        """The annotation arrays of every view, without rendering one (the image folders are
        made, empty: see :mod:`hpe_core.datasets.synthetic.lazy`)."""
        spec, arrays = self.spec, self._arrays()
        for c in range(spec.cameras):
            (root / "images" / f"{c:02d}").mkdir(parents=True, exist_ok=True)
        for chunk, start in enumerate(range(0, spec.poses, CHUNK)):
            check_cancelled(progress)
            count = min(CHUNK, spec.poses - start)
            self._annotate(arrays, start, self.poses(chunk, count))
            progress.set_progress((start + count) / spec.poses)
        return arrays

    def render_all(self, root: Path, faults: dict[int, str], progress) -> dict:
        """Render and write every image under ``root``; return the annotation arrays."""
        from hpe_core.datasets.synthetic.faults import encode

        spec = self.spec
        C, P = spec.cameras, spec.poses
        for c in range(C):
            (root / "images" / f"{c:02d}").mkdir(parents=True, exist_ok=True)
        arrays = self._arrays()
        for chunk, start in enumerate(range(0, P, CHUNK)):
            count = min(CHUNK, P - start)
            pose = self.poses(chunk, count)
            self._annotate(arrays, start, pose)
            for k in range(count):
                check_cancelled(progress)
                p = start + k
                for c in range(C):
                    i = p * C + c
                    image = self.render(pose, k, c, i)
                    data = encode(image, spec.quality, faults.get(i), np.random.default_rng([spec.seed, 4, i]))
                    (root / "images" / f"{c:02d}" / f"{p:06d}.jpg").write_bytes(data)
                    if spec.part_masks:
                        self._write_masks(root, pose, k, c, p)
                progress.set_progress((p + 1) / P)
        return arrays

    def _write_masks(self, root: Path, pose: dict, k: int, c: int, p: int) -> None:
        """The renderer's own amodal per-part masks of this view (see ``masks.py``)."""
        from hpe_core.datasets.synthetic.masks import PATTERN, draw_part_masks, write_part_masks

        cam, size = self.cameras[c], self.spec.size
        points = np.concatenate([pose["joints"][k], pose["aux"][k]])
        view = View(np.zeros((size, size, 3), np.uint8), cam.K, cam.R, cam.t, points, pose["light"][k])
        frames = {key: (v[k] if not isinstance(v, dict) else {h: w[k] for h, w in v.items()})
                  for key, v in pose["frames"].items()}
        masks = draw_part_masks(view, pose["joints"][k], frames, self.bodies[pose["subject"][k]].radii)
        write_part_masks(root / PATTERN.format(camera_id=c, pose_id=p), masks)

    def _annotate(self, arrays: dict, start: int, pose: dict) -> None:
        """Fill the rows of the chunk's poses ``start ...`` (every camera), all at once."""
        count, cams, size = len(pose["action"]), self.spec.cameras, self.spec.size
        for c in range(cams):
            cam = self.cameras[c]
            rows = (start + np.arange(count)) * cams + c
            joints_c = world_to_camera(pose["joints"], cam.R, cam.t)
            uv = project(joints_c, cam.K, cam.dist)
            arrays["joints_3d"][rows] = joints_c
            arrays["joints_2d"][rows] = uv
            arrays["visible"][rows] = np.isfinite(uv).all(-1) & (uv >= -0.5).all(-1) & (uv <= size - 0.5).all(-1)
            arrays["action"][rows] = pose["action"]
            arrays["subject"][rows] = pose["subject"]


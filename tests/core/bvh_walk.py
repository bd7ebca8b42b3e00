"""A procedural BVH walk (a real hierarchy, ZXY rotation channels, centimetres, y up), written
as a file the way mocap tools do, and its mapping onto h36m17."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# name, parent, offset (cm): a 19-bone body in a T-pose facing +z, left = +x
BONES = (
    ("Hips", None, (0, 0, 0)),
    ("Spine", "Hips", (0, 20, 0)), ("Chest", "Spine", (0, 15, 0)), ("Neck", "Chest", (0, 12, 0)),
    ("Head", "Neck", (0, 11, 2)),
    ("LeftShoulder", "Chest", (3, 9, 0)), ("LeftArm", "LeftShoulder", (13, 0, 0)),
    ("LeftForeArm", "LeftArm", (28, 0, 0)), ("LeftHand", "LeftForeArm", (25, 0, 0)),
    ("RightShoulder", "Chest", (-3, 9, 0)), ("RightArm", "RightShoulder", (-13, 0, 0)),
    ("RightForeArm", "RightArm", (-28, 0, 0)), ("RightHand", "RightForeArm", (-25, 0, 0)),
    ("LeftUpLeg", "Hips", (9.5, 0, 0)), ("LeftLeg", "LeftUpLeg", (0, -44, 0)), ("LeftFoot", "LeftLeg", (0, -45, 0)),
    ("RightUpLeg", "Hips", (-9.5, 0, 0)), ("RightLeg", "RightUpLeg", (0, -44, 0)),
    ("RightFoot", "RightLeg", (0, -45, 0)),
)
END_SITES = {"Head": (0, 10, 0), "LeftHand": (8, 0, 0), "RightHand": (-8, 0, 0),
             "LeftFoot": (0, -5, 13), "RightFoot": (0, -5, 13)}

H36M_MAPPING = {
    "Pelvis": "Hips", "RHip": "RightUpLeg", "RKnee": "RightLeg", "RAnkle": "RightFoot",
    "LHip": "LeftUpLeg", "LKnee": "LeftLeg", "LAnkle": "LeftFoot", "Spine": "Spine", "Thorax": "Neck",
    "Nose": "Head", "Head": "Head_end", "LShoulder": "LeftArm", "LElbow": "LeftForeArm",
    "LWrist": "LeftHand", "RShoulder": "RightArm", "RElbow": "RightForeArm", "RWrist": "RightHand",
}


def walk_angles(frames: int, fps: float = 30.0) -> dict[str, np.ndarray]:
    """Per-bone (frames, 3) ZXY Euler angles in degrees, plus the root translation (frames, 3) cm."""
    t = np.arange(frames) / fps
    w = 2 * np.pi * 0.9 * t  # a 0.9 Hz gait cycle
    z = np.zeros(frames)
    a = {name: np.zeros((frames, 3)) for name, _, _ in BONES}
    a["Hips"] = np.stack([3 * np.sin(w), 4 + 2 * np.sin(2 * w), 8 * np.sin(w)], -1)  # sway, pitch, yaw
    a["Spine"] = np.stack([z, 3 + z, -10 * np.sin(w)], -1)  # counter-twist
    a["Chest"] = np.stack([-2 * np.sin(w), 2 + z, -5 * np.sin(w)], -1)
    a["Neck"] = np.stack([z, -4 + 2 * np.sin(2 * w), 6 * np.sin(w)], -1)
    for side, sign, phase in (("Left", 1.0, 0.0), ("Right", -1.0, np.pi)):
        s = np.sin(w + phase)
        a[f"{side}Arm"] = np.stack([-sign * 75 + z, -25 * s, z + sign * 8], -1)  # arms down, swinging
        a[f"{side}ForeArm"] = np.stack([z, z, -sign * (20 + 15 * np.maximum(-s, 0))], -1)
        a[f"{side}UpLeg"] = np.stack([sign * 3 + z, -28 * s, z], -1)  # hip flexion
        a[f"{side}Leg"] = np.stack([z, 35 * np.maximum(np.sin(w + phase - 1.2), 0) + 5, z], -1)  # knee
        a[f"{side}Foot"] = np.stack([z, 10 * s, z], -1)
    root = np.stack([2 * np.sin(w), 93 + 2 * np.cos(2 * w), 130 * t], -1)  # 1.3 m/s forward
    return {"angles": a, "root": root}


def write_walk_bvh(path: Path, frames: int = 90, fps: float = 30.0) -> Path:
    """Write the walk as a BVH file and return its path."""
    lines = ["HIERARCHY"]
    children: dict[str | None, list] = {}
    for name, parent, offset in BONES:
        children.setdefault(parent, []).append((name, offset))

    order: list[str] = []

    def joint(name, offset, depth, root=False):
        pad = "  " * depth
        order.append(name)
        lines.append(f"{pad}{'ROOT' if root else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {offset[0]:.4f} {offset[1]:.4f} {offset[2]:.4f}")
        chans = "Xposition Yposition Zposition Zrotation Xrotation Yrotation" if root else \
            "Zrotation Xrotation Yrotation"
        lines.append(f"{pad}  CHANNELS {6 if root else 3} {chans}")
        for child, off in children.get(name, []):
            joint(child, off, depth + 1)
        if name in END_SITES:
            e = END_SITES[name]
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {e[0]:.4f} {e[1]:.4f} {e[2]:.4f}",
                          f"{pad}  }}"])
        lines.append(f"{pad}}}")

    joint("Hips", (0, 0, 0), 0, root=True)
    motion = walk_angles(frames, fps)
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1.0 / fps:.6f}"]
    for f in range(frames):
        values = list(motion["root"][f])
        for name in order:  # channels in the order the hierarchy lists the joints
            values += list(motion["angles"][name][f])
        lines.append(" ".join(f"{v:.6f}" for v in values))
    path.write_text("\n".join(lines) + "\n")
    return path

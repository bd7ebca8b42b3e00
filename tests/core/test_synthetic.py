"""The synthetic generator: deterministic, multi-view consistent, human, varied, drawn in depth order."""

import json

import numpy as np
import pytest

from hpe_core.datasets import open_dataset
from hpe_core.datasets.synthetic import FAULT_KINDS, SynthSpec, planted_faults, synthesize
from hpe_core.datasets.synthetic import actions, body, render
from hpe_core.datasets.synthetic.appearance import Look
from hpe_core.errors import InputError
from hpe_core.geometry import Camera, camera_to_world, look_at, project
from hpe_core.progress import Cancelled, RecordingProgress
from hpe_core.skeleton import PANOPTIC19

J = {name: j for j, name in enumerate(PANOPTIC19.joint_names)}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    spec = SynthSpec(tmp_path_factory.mktemp("s") / "synth", poses=40, cameras=3, size=64, seed=5)
    return spec, open_dataset(synthesize(spec))


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = synthesize(SynthSpec(tmp_path / "a", poses=5, cameras=2, size=48, seed=1))
    b = synthesize(SynthSpec(tmp_path / "b", poses=5, cameras=2, size=48, seed=1))
    c = synthesize(SynthSpec(tmp_path / "c", poses=5, cameras=2, size=48, seed=2))
    for name in ("images/00/000003.jpg", "images/01/000004.jpg", "annotations.npz"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()


def test_projection_and_multi_view_consistency(synth):
    spec, ds = synth
    assert len(ds) == 120 and len(ds.cameras) == 3 and ds.skeleton.name == "panoptic19"
    for i in range(0, len(ds), 7):
        s = ds.sample(i)
        np.testing.assert_allclose(project(s.joints_3d, s.camera.K, s.camera.dist), s.joints_2d, atol=1e-2)
    # the views of one pose are one physical pose: the same world joints through every camera
    for p in (0, 17, 39):
        rows = np.flatnonzero(ds.pose_id == p)
        world = [camera_to_world(ds.joints_3d[r], ds.cameras[int(ds.camera_id[r])].R, ds.cameras[int(ds.camera_id[r])].t)
                 for r in rows]
        assert len(rows) == 3 and len(set(ds.camera_id[rows].tolist())) == 3
        np.testing.assert_allclose(world[0], world[1], atol=0.05)
        np.testing.assert_allclose(world[0], world[2], atol=0.05)


def test_people_are_human_sized_and_fill_the_frame(synth):
    spec, ds = synth
    j3 = ds.joints_3d.astype(np.float64)
    bone = lambda a, b: np.linalg.norm(j3[:, J[a]] - j3[:, J[b]], axis=-1)
    for a, b, lo, hi in (("lHip", "lKnee", 330, 560), ("lKnee", "lAnkle", 320, 550),
                         ("lShoulder", "lElbow", 220, 380), ("lElbow", "lWrist", 200, 340), ("Neck", "BodyCenter", 380, 650)):
        length = bone(a, b)
        assert lo < length.min() and length.max() < hi, (a, b, length.min(), length.max())
        np.testing.assert_allclose(length, bone("r" + a[1:] if a[0] == "l" else a, "r" + b[1:] if b[0] == "l" else b), atol=0.5)
    assert (j3[..., 2] > 1500).all(), "every joint in front of every camera"
    height = np.nanmax(ds.joints_2d[..., 1], 1) - np.nanmin(ds.joints_2d[..., 1], 1)
    assert np.median(height) > 0.45 * spec.size
    assert ds.visible.mean() > 0.98


def _mirror_asymmetry(joints, frames):
    """(N,) mean distance (mm) of elbows, wrists, knees, ankles to the mirror image of the pose
    in the body frame: near 0 for symmetric poses, large for one-sided ones."""
    axes = np.stack([frames["right0"], frames["up0"], frames["fwd0"]], 1)
    local = np.einsum("nad,njd->nja", axes, joints - joints[:, J["BodyCenter"]][:, None])
    mirror = local[:, PANOPTIC19.flip_permutation].copy()
    mirror[..., 0] *= -1
    limbs = [J[f"{s}{p}"] for s in "lr" for p in ("Elbow", "Wrist", "Knee", "Ankle")]
    return np.linalg.norm(local[:, limbs] - mirror[:, limbs], axis=-1).mean(1)


def test_actions_are_many_and_one_sided_movements_are_common():
    rng = np.random.default_rng(0)
    n = 3400
    action = rng.integers(0, len(actions.ACTION_NAMES), n)
    angles = actions.sample_actions(rng, action)
    lengths = np.tile(body.make_body(np.random.default_rng(1)).lengths, (n, 1))
    joints, frames = body.pose_joints(angles, lengths, np.zeros((n, 2)))
    assert len(actions.ACTION_NAMES) >= 12 and set(action.tolist()) == set(range(len(actions.ACTION_NAMES)))
    asym = _mirror_asymmetry(joints, frames)
    assert np.median(asym[action == actions.ACTION_NAMES.index("standing")]) < 120
    for name in ("waving", "pointing", "kick", "lunge", "punch", "reach_up", "one_leg_stand"):
        assert np.median(asym[action == actions.ACTION_NAMES.index(name)]) > 200, name
    assert (asym > 150).mean() > 0.5, "one-sided poses are at least as common as symmetric ones"
    wrist = joints[:, J["lWrist"], 1] - joints[:, J["rWrist"], 1]  # y down: negative = left hand higher
    assert 0.4 < (wrist[np.abs(wrist) > 250] < 0).mean() < 0.6, "either side equally often"
    lowest = np.maximum(joints[:, [J["lAnkle"], J["rAnkle"]], 1].max(1) + body.ANKLE_HEIGHT,
                        joints[:, [J["lKnee"], J["rKnee"]], 1].max(1) + body.KNEE_RADIUS)
    np.testing.assert_allclose(lowest + angles["lift"], 0, atol=1e-6)  # on the floor unless jumping


def _pointing_scene(camera_side: float):
    """A person pointing the right arm at the camera side; returns the image and the forearm pixel."""
    a = actions.relaxed(np.random.default_rng(3), 1)
    a.update({"yaw": np.zeros(1), "arm_elev_r": np.array([np.pi / 2]), "arm_azim_r": np.array([np.pi / 2]),
              "elbow_r": np.zeros(1), "twist": np.zeros(1), "bend": np.zeros(1), "lean": np.zeros(1)})
    bd = body.make_body(np.random.default_rng(4))
    joints, frames = body.pose_joints(a, bd.lengths[None], np.zeros((1, 2)))
    aux = render.aux_points(joints, frames, np.array([bd.radii["head"]]), np.array([150.0]))
    R, t = look_at([150.0, -1300.0, camera_side * 3000.0], [0.0, -1300.0, 0.0])
    K = np.array([[300.0, 0, 63.5], [0, 300.0, 63.5], [0, 0, 1]])
    look = Look(skin=(250, 20, 20), hair=(20, 20, 20), shirt=(20, 20, 250), print_=(20, 20, 250),
                pants=(20, 250, 20), shoes=(10, 10, 10), long_sleeves=False, long_pants=True)
    img = np.full((128, 128, 3), 128, np.uint8)
    view = render.View(img, K, R, t, np.concatenate([joints[0], aux[0]]), np.array([0.0, -1.0, 0.0]))
    f = {k: (v[0] if not isinstance(v, dict) else {h: w[0] for h, w in v.items()}) for k, v in frames.items()}
    render.draw_person(view, joints[0], f, bd.radii, look, seated=False)
    mid = 0.5 * (joints[0, J["rElbow"]] + joints[0, J["rWrist"]])
    u, v = project((mid @ R.T + t)[None], K)[0]
    return img, int(round(u)), int(round(v))


def test_depth_order_hides_what_is_behind():
    """From the front the pointing forearm (skin, red) covers the shirt; from behind the torso
    (shirt, blue) covers the forearm at the same place."""
    front, u, v = _pointing_scene(+1.0)
    patch = front[v - 1:v + 2, u - 1:u + 2].reshape(-1, 3).mean(0)
    assert patch[0] > 2 * patch[2], patch
    back, u, v = _pointing_scene(-1.0)
    patch = back[v - 1:v + 2, u - 1:u + 2].reshape(-1, 3).mean(0)
    assert patch[2] > 2 * patch[0], patch


def test_planted_faults_are_deterministic_balanced_and_listed(tmp_path):
    spec = SynthSpec(tmp_path / "f", poses=20, cameras=3, size=48, seed=2, corrupt=0.15)
    faults = planted_faults(spec)
    assert len(faults) == 9 and sorted(faults.values()).count("green") == 3
    assert set(faults.values()) == set(FAULT_KINDS) and faults == planted_faults(spec)
    out = synthesize(spec)
    listed = json.loads((out / "planted_faults.json").read_text())
    assert {d["index"]: d["fault"] for d in listed} == faults
    ds = open_dataset(out)
    for i, kind in faults.items():
        data = ds.image_path(i).read_bytes()
        if kind == "truncated":
            assert b"\xff\xd9" not in data[-64:]
        else:
            image = ds.load_image(i)
            channel_means = image.reshape(-1, 3).mean(0)
            assert channel_means[1] > 200 if kind == "green" else channel_means.max() < 10


def test_cancel_leaves_nothing_and_full_folders_are_refused(tmp_path):
    out = tmp_path / "c"
    progress = RecordingProgress(cancel_after=3)
    with pytest.raises(Cancelled):
        synthesize(SynthSpec(out, poses=30, cameras=2, size=48), progress)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        synthesize(SynthSpec(out, poses=2, cameras=2, size=48))
    assert (out / "keep.txt").exists()
    progress = RecordingProgress()
    synthesize(SynthSpec(out, poses=2, cameras=2, size=48, overwrite=True), progress)
    assert not (out / "keep.txt").exists() and len(open_dataset(out)) == 4
    assert progress.fractions[-1] == 1.0 and progress.fractions == sorted(progress.fractions)


@pytest.mark.parametrize("field, value", [("poses", 0), ("cameras", 0), ("size", 16), ("corrupt", 1.0),
                                          ("corrupt", -0.1), ("subjects", 0), ("quality", 5)])
def test_bad_specs_are_input_errors(tmp_path, field, value):
    with pytest.raises(InputError, match=field if field != "size" else "size"):
        synthesize(SynthSpec(tmp_path / "x", **{field: value}))
    assert not (tmp_path / "x").exists()


def test_a_lazy_set_renders_each_image_when_first_read_byte_for_byte(tmp_path):
    """``lazy=True`` writes the annotations only; an image is rendered (the same bytes the eager
    build writes, planted faults included) the first time it is read, in the order asked."""
    import pickle

    spec = {"poses": 30, "cameras": 3, "size": 48, "seed": 2, "subjects": 3, "corrupt": 0.1}
    eager = open_dataset(synthesize(SynthSpec(out=tmp_path / "eager", **spec)))
    lazy = open_dataset(synthesize(SynthSpec(out=tmp_path / "lazy", **spec), lazy=True))
    assert not list((tmp_path / "lazy" / "images").rglob("*.jpg"))  # nothing rendered yet
    for col in ("joints_3d", "joints_2d", "visible", "action", "subject", "pose_id", "camera_id"):
        np.testing.assert_array_equal(getattr(lazy, col), getattr(eager, col))
    faulty = sorted(planted_faults(SynthSpec(out=tmp_path / "x", **spec)))
    asked = [7, 0, 55, faulty[0], 89, 7]
    for i in asked:
        try:
            lazy.load_image(i)
        except InputError:  # a planted fault (a truncated file) reads as such
            pass
    assert lazy.images.order == [7, 0, 55, faulty[0], 89] and lazy.images.rendered == 5  # once each
    for i in asked:
        name = lazy.sample_name(i)
        assert (tmp_path / "lazy" / name).read_bytes() == (tmp_path / "eager" / name).read_bytes()
    copy = pickle.loads(pickle.dumps(lazy))  # as a data-loader worker receives it
    np.testing.assert_array_equal(copy.load_image(3), eager.load_image(3))
    assert copy.images.order == [3] and (tmp_path / "lazy" / lazy.sample_name(3)).is_file()


# ------------------------------------------------------------------- chain_bones
@pytest.mark.parametrize("skeleton", ["panoptic19", "h36m17"])
def test_chain_bones_lays_unit_directions_end_to_end(skeleton):
    from hpe_core.skeleton import get_skeleton

    sk = get_skeleton(skeleton)
    rng = np.random.default_rng(7)
    v = rng.normal(size=(3, sk.num_joints, 3))
    lengths = rng.uniform(50, 400, size=(3, sk.num_joints))
    out = body.chain_bones(5.0 * v, lengths, sk, root=np.ones((3, 3)))
    for c, p in enumerate(sk.parents):
        if p >= 0:
            unit = v[:, c] / np.linalg.norm(v[:, c], axis=-1, keepdims=True)
            np.testing.assert_allclose(out[:, c] - out[:, p], lengths[:, c, None] * unit, atol=1e-9)
    np.testing.assert_allclose(out[:, sk.root], 1.0)


def test_chain_bones_rebuilds_joints_from_their_own_bones_even_a_zero_length_one():
    rng = np.random.default_rng(8)
    joints = rng.normal(scale=300, size=(2, PANOPTIC19.num_joints, 3))
    joints[:, J["lElbow"]] = joints[:, J["lShoulder"]]  # a zero-length bone
    parents = np.array([max(p, 0) for p in PANOPTIC19.parents])
    bones = joints - joints[:, parents]
    lengths = np.linalg.norm(bones, axis=-1)
    out = body.chain_bones(bones, lengths, PANOPTIC19, root=joints[:, PANOPTIC19.root])
    np.testing.assert_allclose(out, joints, atol=1e-8)


def test_chain_bones_rejects_wrong_joint_count():
    with pytest.raises(InputError, match="bone directions"):
        body.chain_bones(np.zeros((1, 17, 3)), np.ones(17), PANOPTIC19)

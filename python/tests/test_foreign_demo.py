"""Demos recorded in robosuite (MimicGen's layout and names), written here with h5py,
not with the project's own writer: they import with MimicGen's names, robosuite's frame
(or any rigid transform) and generate."""

import json
import math

import h5py
import numpy as np
import pytest

import dmgen
from conftest import ROOT

# robosuite's table-top arenas: the Panda's base 0.56 m behind the table centre (the
# world origin), the table top at 0.8 m (0.82 m in Square's).
TABLE_Z = {"square": 0.82, "stack": 0.8}


def quat_xyzw_to_matrix(q):
    x, y, z, w = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def write_mimicgen_file(path, task, env_name, names, yaw=0.0):
    """The task's built-in demo as a MimicGen source file: robosuite's world (the robot
    turned by `yaw` about its base), MimicGen's object names, 4x4 pose matrices."""
    demo = json.loads((ROOT / "public" / "demos" / f"{task}.json").read_text())
    c, s = math.cos(yaw), math.sin(yaw)
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def poses(pos, quat):
        out = np.zeros((len(pos), 4, 4))
        for k, (p, q) in enumerate(zip(pos, quat)):
            out[k, :3, :3] = turn @ quat_xyzw_to_matrix(np.array(q))
            out[k, :3, 3] = turn @ np.array(p) + np.array([-0.56, 0.0, TABLE_Z[task]])
            out[k, 3, 3] = 1.0
        return out

    t = len(demo["t"])
    grip = 2.0 * np.array(demo["gripper"]) - 1.0
    eef = poses(demo["eef_pos"], demo["eef_quat"])
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        data.attrs["total"] = t
        data.attrs["env_args"] = json.dumps({"env_name": env_name, "type": 1, "env_kwargs": {"robots": ["Panda"]}})
        ep = data.create_group("demo_0")
        ep.attrs["num_samples"] = t
        ep.create_dataset("actions", data=np.concatenate([np.zeros((t, 6)), grip[:, None]], axis=1))
        ep.create_dataset("obs/robot0_eef_pos", data=eef[:, :3, 3])
        dg = ep.create_group("datagen_info")
        dg.create_dataset("eef_pose", data=eef)
        dg.create_dataset("gripper_action", data=grip[:, None])
        for o in demo["objects"]:
            dg.create_dataset(f"object_poses/{names[o['name']]}", data=poses(o["pos"], o["quat"]))
    return path


def successes(config, demo, n=10):
    g = dmgen.Generator(config, demo=demo)
    return sum(g.attempt(i)["success"] for i in range(n))


def test_a_mimicgen_square_file_generates_with_no_name_map(tmp_path):
    data = write_mimicgen_file(tmp_path / "square.hdf5", "square", "Square_D0", {"nut": "square_nut", "peg": "square_peg"})
    cfg = {"task": "square", "variant": "static", "seed": 3, "demo_frame": {"kind": "robosuite"}}
    g = dmgen.Generator(cfg, demo=data)
    assert g.attempt(0)["object_names"] == ["nut", "peg"]
    # The built-in demo itself succeeds on 10 of 10 of these attempts.
    assert successes(cfg, data) >= 9


def test_a_turned_stack_file_lands_with_a_rigid_transform(tmp_path):
    data = write_mimicgen_file(tmp_path / "stack.hdf5", "stack", "Stack_D0", {"cubeA": "cubeA", "cubeB": "cubeB"}, yaw=0.5)
    frame = {"kind": "rigid", "base": [-0.56, 0.0], "yaw": 0.5, "table_z": 0.8}
    cfg = {"task": "stack", "variant": "static", "seed": 3, "demo_frame": frame}
    # (The Rust test `a_demo_in_mimicgens_names_and_robosuites_frame_...` checks that the
    # transform puts every pose back where the built-in demo has it.)
    assert successes(cfg, data) >= 9
    # A frame that is not a rigid transform is refused with its field named.
    with pytest.raises(dmgen.DmgenError, match="demo_frame"):
        dmgen.Generator({**cfg, "demo_frame": {"kind": "rigid", "base": [0.0, 0.0], "yaw": 50.0, "table_z": 0.8}}, demo=data)


def test_an_unmappable_object_names_both_lists_and_a_map_fixes_it(tmp_path):
    data = write_mimicgen_file(tmp_path / "square.hdf5", "square", "Square_D0", {"nut": "SquareNut", "peg": "square_peg"})
    cfg = {"task": "square", "variant": "static", "demo_frame": {"kind": "robosuite"}}
    with pytest.raises(dmgen.DmgenError, match=r"'SquareNut'.*SquareNut, square_peg.*nut, peg"):
        dmgen.Generator(cfg, demo=data)
    fixed = {**cfg, "object_map": {"SquareNut": "nut"}}
    assert successes(fixed, data, n=4) >= 3

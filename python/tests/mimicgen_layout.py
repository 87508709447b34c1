"""A task's built-in demo as a MimicGen source file, written with h5py (not with the
project's own writer): robosuite's world (optionally turned about the robot's base),
MimicGen's object names, 4x4 pose matrices in `datagen_info`.

    python python/tests/mimicgen_layout.py square OUT.hdf5 [YAW]
"""

import json
import math
import sys
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# MimicGen's names for each task's objects.
MIMICGEN_NAMES = {
    "square": {"nut": "square_nut", "peg": "square_peg"},
    "stack": {"cubeA": "cubeA", "cubeB": "cubeB"},
}
ENV_NAMES = {"square": "Square_D0", "stack": "Stack_D0"}


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


if __name__ == "__main__":
    task, out = sys.argv[1], Path(sys.argv[2])
    yaw = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    write_mimicgen_file(out, task, ENV_NAMES[task], MIMICGEN_NAMES[task], yaw)
    print(out)

#!/usr/bin/env python3
"""Check a LeRobot v3.0 dataset written by dmgen against the robomimic file it came from.

Usage: check_lerobot.py DATASET_DIR SOURCE.hdf5 [DATASET_DIR SOURCE.hdf5 ...]

Reads every Parquet file with pyarrow and checks the layout LeRobot's loader needs
(docs/dataset.md): info.json keys and totals, the five default features, exactly the
declared columns in the data files, a global `index`, per-episode `frame_index`, episode
rows with their frame ranges, the task string as the pandas index of tasks.parquet, and
stats.json. Values are compared with the HDF5 file (float32 rounding allowed). Camera
features (`dtype: image`) are read back through Hugging Face datasets' `Image` feature, the
reader LeRobot uses, and must equal the HDF5 frames pixel for pixel; their statistics are
per channel, shaped (3, 1, 1), over values divided by 255.

When the `lerobot` package is importable, the dataset is also opened with
`LeRobotDataset(repo_id, root=DIR)` and a few items are compared; otherwise that part is
reported as not run (lerobot with torch is several GB, more than the test setup installs).

Exits 0 when every dataset passes, 1 with a list of problems otherwise.
"""

import io
import json
import os
import sys

import h5py
import numpy as np
import pyarrow.parquet as pq

DEFAULTS = {
    "timestamp": "float32",
    "frame_index": "int64",
    "episode_index": "int64",
    "index": "int64",
    "task_index": "int64",
}
STATS = ["min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"]


def check(root, source):
    problems = []

    def expect(ok, msg):
        if not ok:
            problems.append(msg)
        return ok

    info = json.load(open(os.path.join(root, "meta", "info.json")))
    expect(info.get("codebase_version") == "v3.0", f"codebase_version {info.get('codebase_version')}")
    expect(info.get("fps", 0) > 0, "fps must be positive")
    for k in ["total_episodes", "total_frames", "total_tasks", "chunks_size", "data_path", "splits", "features"]:
        expect(k in info, f"info.json lacks {k}")
    feats = info["features"]
    for k, dtype in DEFAULTS.items():
        expect(feats.get(k, {}).get("dtype") == dtype, f"default feature {k} must be {dtype}")
        expect(feats.get(k, {}).get("shape") == [1], f"default feature {k} must have shape [1]")

    f = h5py.File(source, "r")
    demos = sorted(f["data"].keys(), key=lambda n: int(n.split("_")[1]))
    lengths = [int(f["data"][d]["actions"].shape[0]) for d in demos]
    expect(info["total_episodes"] == len(demos), f"total_episodes {info['total_episodes']} != {len(demos)} demos in the HDF5")
    expect(info["total_frames"] == sum(lengths), f"total_frames {info['total_frames']} != {sum(lengths)} samples in the HDF5")
    expect(info["splits"] == {"train": f"0:{len(demos)}"}, f"splits {info['splits']}")

    # Data files: exactly the declared columns; vectors of the declared width.
    data_dir = os.path.join(root, "data")
    paths = sorted(
        os.path.join(data_dir, c, p) for c in os.listdir(data_dir) for p in os.listdir(os.path.join(data_dir, c))
    )
    tables = [pq.read_table(p) for p in paths]
    for p, t in zip(paths, tables):
        expect(set(t.column_names) == set(feats), f"{p}: columns {sorted(set(t.column_names) ^ set(feats))} differ from features")
    images = {k: ft for k, ft in feats.items() if ft.get("dtype") == "image"}
    cols = {k: np.concatenate([np.asarray(t.column(k).to_pylist()) for t in tables]) for k in feats if k not in images}
    n = sum(lengths)
    expect(len(cols["index"]) == n, f"{len(cols['index'])} data rows, expected {n}")
    expect(np.array_equal(cols["index"], np.arange(n)), "index must be the global row number 0..N-1")
    for k, ft in feats.items():
        if k in images:
            expect(len(ft["shape"]) == 3 and ft["shape"][2] == 3, f"{k}: image shape {ft['shape']} is not [H, W, 3]")
            expect(ft.get("names") == ["height", "width", "channels"], f"{k}: names {ft.get('names')}")
        elif ft["shape"] != [1]:
            expect(cols[k].shape[1:] == tuple(ft["shape"]), f"{k}: rows of shape {cols[k].shape[1:]}, declared {ft['shape']}")
            expect(len(ft.get("names") or []) == ft["shape"][0], f"{k}: {len(ft.get('names') or [])} names for width {ft['shape'][0]}")

    # Episodes: rows in order with their frame ranges; frames match the HDF5.
    ep = pq.read_table(os.path.join(root, "meta", "episodes", "chunk-000", "file-000.parquet")).to_pydict()
    expect(ep["episode_index"] == list(range(len(demos))), "episode rows must be 0..E-1 in order")
    start = 0
    fps = info["fps"]
    convention = f["data"].attrs.get("dmgen_actions", "delta")
    for e, (d, t) in enumerate(zip(demos, lengths)):
        if not expect(ep["length"][e] == t, f"episode {e}: length {ep['length'][e]}, HDF5 {d} has {t}"):
            continue
        expect(
            (ep["dataset_from_index"][e], ep["dataset_to_index"][e]) == (start, start + t),
            f"episode {e}: frame range {(ep['dataset_from_index'][e], ep['dataset_to_index'][e])}, expected {(start, start + t)}",
        )
        rows = slice(start, start + t)
        g = f["data"][d]
        expect(np.array_equal(cols["frame_index"][rows], np.arange(t)), f"episode {e}: frame_index must restart at 0")
        expect(np.all(cols["episode_index"][rows] == e), f"episode {e}: episode_index")
        expect(np.allclose(cols["timestamp"][rows], np.arange(t) / fps, atol=1e-5), f"episode {e}: timestamp != frame_index / fps")
        pairs = [("action", "actions"), ("observation.robot0_eef_pos", "obs/robot0_eef_pos"), ("observation.object", "obs/object")]
        if "subtask_index" in feats:
            pairs.append(("subtask_index", "datagen_info/subtask_index"))
        other = "action_abs" if convention == "delta" else "action_delta"
        if other in feats:
            pairs.append((other, "actions_abs" if convention == "delta" else "actions_delta"))
        for key, path in pairs:
            ref = np.asarray(g[path])
            expect(
                np.allclose(cols[key][rows], ref, rtol=1e-6, atol=1e-6),
                f"episode {e}: {key} differs from {d}/{path} by {np.abs(cols[key][rows] - ref).max()}",
            )
        state = np.concatenate([g["obs/robot0_eef_pos"], g["obs/robot0_eef_quat"], g["obs/robot0_gripper_qpos"]], axis=1)
        expect(np.allclose(cols["observation.state"][rows], state, atol=1e-6), f"episode {e}: observation.state")
        expect(cols["next.done"][rows][-1] and not cols["next.done"][rows][:-1].any(), f"episode {e}: next.done only at the end")
        start += t
    for k in images:
        camera = k[len("observation.images."):]
        expect(f"obs/{camera}_image" in f["data"][demos[0]], f"{k}: the HDF5 has no obs/{camera}_image")
    expect(
        {f"observation.images.{key[:-len('_image')]}" for key in f["data"][demos[0]]["obs"] if key.endswith("_image")} == set(images),
        f"image features {sorted(images)} do not match the HDF5's camera keys",
    )

    # Camera frames through Hugging Face datasets' Image feature (what LeRobot decodes with).
    pixels = {}
    if images:
        import datasets

        frames = {k: [] for k in images}
        for p in paths:
            ds = datasets.Dataset.from_parquet(p)
            for k in images:
                ds = ds.cast_column(k, datasets.Image())
            for k in images:
                for im in ds[k]:
                    expect(im.mode == "RGB", f"{p}: {k} decodes as {im.mode}, not RGB")
                    frames[k].append(np.asarray(im))
        for k, ft in images.items():
            camera = k[len("observation.images."):]
            ref = np.concatenate([np.asarray(f["data"][d]["obs"][f"{camera}_image"]) for d in demos])
            got = np.stack(frames[k])
            if expect(got.shape == ref.shape and got.shape[1:] == tuple(ft["shape"]), f"{k}: frames {got.shape}, HDF5 {ref.shape}"):
                expect(np.array_equal(got, ref), f"{k}: {int((got != ref).sum())} pixel values differ from the HDF5")
            pixels[k] = ref
        # The episodes file keeps per-episode image statistics shaped (3, 1, 1).
        for k in images:
            for stat in ["mean", "min", "max"]:
                v = ep.get(f"stats/{k}/{stat}")
                if expect(v is not None, f"episodes file lacks stats/{k}/{stat}"):
                    expect(np.asarray(v[0]).shape == (3, 1, 1), f"stats/{k}/{stat}: shape {np.asarray(v[0]).shape}")
        first = np.asarray(f["data"][demos[0]]["obs"][f"{next(iter(images))[len('observation.images.'):]}_image"])
        expect(
            np.allclose(np.asarray(ep[f"stats/{next(iter(images))}/mean"][0]).ravel(), first.reshape(-1, 3).mean(axis=0) / 255.0, atol=1e-12),
            "episode 0: image mean",
        )

    # Tasks: the task string is the pandas index, as LeRobot reads it.
    import pandas as pd

    tasks = pd.read_parquet(os.path.join(root, "meta", "tasks.parquet"))
    expect(len(tasks) == info["total_tasks"] == 1, f"{len(tasks)} tasks")
    expect(isinstance(tasks.index[0], str) and len(tasks.index[0]) > 10, f"task index {tasks.index[0]!r} is not a task string")
    expect(list(tasks["task_index"]) == [0], "task_index")
    expect(all(ts == [tasks.index[0]] for ts in ep["tasks"]), "every episode's tasks must be the task string")

    # Stats over all frames.
    stats = json.load(open(os.path.join(root, "meta", "stats.json")))
    for k, ft in feats.items():
        s = stats.get(k)
        if not expect(s is not None, f"stats.json lacks {k}"):
            continue
        expect(sorted(s) == sorted(STATS), f"stats for {k}: {sorted(s)}")
        if k in images:
            v = pixels[k].reshape(-1, 3).astype(np.float64) / 255.0
            expect(s["count"] == [n], f"{k}: count {s['count']}")
            for stat, ref in [("mean", v.mean(axis=0)), ("std", v.std(axis=0)), ("min", v.min(axis=0)), ("max", v.max(axis=0)),
                              ("q01", np.quantile(v, 0.01, axis=0)), ("q50", np.quantile(v, 0.50, axis=0)),
                              ("q99", np.quantile(v, 0.99, axis=0))]:
                got = np.asarray(s[stat])
                expect(got.shape == (3, 1, 1), f"{k}: {stat} shape {got.shape}, LeRobot keeps (3, 1, 1)")
                expect(np.allclose(got.ravel(), ref, rtol=1e-9, atol=1e-9), f"{k}: {stat} {got.ravel()} != {ref}")
            continue
        v = cols[k].reshape(n, -1).astype(np.float64)
        expect(s["count"] == [n], f"{k}: count {s['count']}")
        expect(np.allclose(s["mean"], v.mean(axis=0), rtol=1e-9, atol=1e-9), f"{k}: mean")
        expect(np.allclose(s["std"], v.std(axis=0), rtol=1e-6, atol=1e-9), f"{k}: std")
        expect(np.allclose(s["q10"], np.quantile(v, 0.10, axis=0), atol=1e-9), f"{k}: q10")
        expect(np.allclose(s["max"], v.max(axis=0)), f"{k}: max")

    lerobot_loaded = False
    try:
        from lerobot.datasets.lerobot_dataset import LeRobotDataset
    except ImportError:
        LeRobotDataset = None
    if LeRobotDataset is not None:
        ds = LeRobotDataset("dmgen/check", root=root)
        expect(len(ds) == n and ds.num_episodes == len(demos), "LeRobotDataset: sizes")
        item = ds[n - 1]
        expect(int(item["index"]) == n - 1, "LeRobotDataset: last index")
        expect(item["task"] == tasks.index[0], f"LeRobotDataset: task {item['task']!r}")
        expect(np.allclose(item["action"].numpy(), cols["action"][n - 1]), "LeRobotDataset: action")
        lerobot_loaded = True
    return problems, lerobot_loaded


def main(argv):
    if len(argv) < 3 or len(argv) % 2 != 1:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for root, source in zip(argv[1::2], argv[2::2]):
        problems, loaded = check(root, source)
        if problems:
            failed = True
            print(f"FAIL {root}")
            for p in problems:
                print(f"  - {p}")
        else:
            note = "LeRobotDataset loaded it" if loaded else "LeRobotDataset not run: lerobot is not installed"
            print(f"ok   {root} (pyarrow; {note})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

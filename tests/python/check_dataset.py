#!/usr/bin/env python3
"""Check a dmgen dataset against the layout in docs/dataset.md, the way robomimic reads it.

Usage: check_dataset.py FILE.hdf5 [FILE.hdf5 ...]
Exits 0 when every file passes, 1 with a list of problems otherwise. Needs h5py and numpy.
"""

import json
import sys

import h5py
import numpy as np

OBS_KEYS = {
    "robot0_eef_pos": 3,
    "robot0_eef_quat": 4,
    "robot0_gripper_qpos": 2,
    "robot0_joint_pos": 7,
}


class Checker:
    def __init__(self, path):
        self.path = path
        self.problems = []
        # What `actions` holds (data.attrs["dmgen_actions"]): "delta" or "abs".
        self.convention = "delta"
        # Camera image datasets checked.
        self.images = 0
        # obs/object's column groups (data.attrs["dmgen_object_columns"], layout 2).
        self.object_columns = []

    def expect(self, ok, message):
        if not ok:
            self.problems.append(message)
        return ok

    def dataset(self, group, name, shape=None):
        """Return group[name] as an array, checking that it is a dataset of `shape`
        (None entries match any size)."""
        if not self.expect(name in group, f"{group.name}/{name} is missing"):
            return None
        d = group[name]
        if not self.expect(isinstance(d, h5py.Dataset), f"{d.name} is not a dataset"):
            return None
        arr = d[()]
        if shape is not None:
            ok = len(arr.shape) == len(shape) and all(
                want is None or want == got for want, got in zip(shape, arr.shape)
            )
            self.expect(ok, f"{d.name} has shape {arr.shape}, expected {shape}")
        return arr

    def unit_quats(self, q, name, tol=1e-6):
        norms = np.linalg.norm(q, axis=-1)
        self.expect(
            np.all(np.abs(norms - 1.0) < tol),
            f"{name}: quaternion norms range {norms.min()}..{norms.max()}, expected 1",
        )

    def rotations(self, mats, name, tol=1e-6):
        """T x 4 x 4 homogeneous transforms with orthonormal rotation blocks."""
        r = mats[:, :3, :3]
        eye = np.einsum("tij,tkj->tik", r, r)
        self.expect(np.allclose(eye, np.eye(3), atol=tol), f"{name}: rotation blocks are not orthonormal")
        self.expect(np.allclose(np.linalg.det(r), 1.0, atol=tol), f"{name}: rotation determinant is not 1")
        self.expect(
            np.allclose(mats[:, 3, :], [0.0, 0.0, 0.0, 1.0]), f"{name}: last row is not [0 0 0 1]"
        )

    def check_demo(self, g, names_objects_state):
        name = g.name
        attrs = g.attrs
        if not self.expect("num_samples" in attrs, f"{name} has no num_samples attribute"):
            return 0
        t = int(attrs["num_samples"])
        self.expect(t > 0, f"{name}: num_samples is {t}")
        abs_main = self.convention == "abs"
        actions = self.dataset(g, "actions", (t, 7))
        delta = self.dataset(g, "actions_delta", (t, 7)) if abs_main else actions
        if actions is not None:
            self.expect(actions.dtype == np.float64, f"{name}/actions dtype {actions.dtype}")
            self.expect(np.all(np.isfinite(actions)), f"{name}/actions are not finite")
        if delta is not None:
            self.expect(np.all(np.abs(delta) <= 1.0), f"{name}: delta actions leave [-1, 1]")
        if actions is not None:
            self.expect(
                np.all(np.isin(actions[:, 6], [-1.0, 1.0])), f"{name}/actions gripper is not -1/1"
            )
        actions_abs = actions if abs_main else self.dataset(g, "actions_abs", (t, 7))
        if actions_abs is not None:
            # Continuous rotation vectors: the representative nearest the previous
            # step's, so no step jumps by 2 pi where the angle passes pi.
            if t > 1:
                jumps = np.linalg.norm(np.diff(actions_abs[:, 3:6], axis=0), axis=1)
                self.expect(
                    np.all(jumps < 0.5),
                    f"{name}/actions_abs rotation vector changes by {jumps.max():.2f} rad in one step",
                )
        states = self.dataset(g, "states", (t, None))
        rewards = self.dataset(g, "rewards", (t,))
        dones = self.dataset(g, "dones", (t,))
        if dones is not None:
            self.expect(dones[-1] == 1 and dones.sum() == 1, f"{name}/dones is not 1 only at the last step")
        if rewards is not None:
            self.expect(np.all((rewards >= 0) & (rewards <= 1)), f"{name}/rewards outside [0, 1]")

        object_names = [str(s) for s in attrs.get("dmgen_object_names", [])]
        subtask_names = [str(s) for s in attrs.get("dmgen_subtask_names", [])]
        self.expect(len(object_names) > 0, f"{name} has no dmgen_object_names")
        n_obj = len(object_names)
        per_key = {}
        for key in ("obs", "next_obs"):
            if not self.expect(key in g, f"{name}/{key} is missing"):
                continue
            for obs_key, width in OBS_KEYS.items():
                per_key[(key, obs_key)] = self.dataset(g[key], obs_key, (t, width))
            width = sum(w for _, w in self.object_columns)
            obj = self.dataset(g[key], "object", (t, width))
            per_key[(key, "object")] = obj
            q = per_key[(key, "robot0_eef_quat")]
            if q is not None:
                self.unit_quats(q, f"{name}/{key}/robot0_eef_quat")
            if obj is not None:
                for col, sl in self.column_slices().items():
                    if sl.stop - sl.start == 4:
                        self.unit_quats(obj[:, sl], f"{name}/{key}/object {col}")
        self.check_images(g, name, t)
        a, b = per_key.get(("obs", "robot0_eef_pos")), per_key.get(("next_obs", "robot0_eef_pos"))
        if a is not None and b is not None and t > 1:
            self.expect(np.array_equal(a[1:], b[:-1]), f"{name}: next_obs is not obs shifted by one step")

        if self.expect("datagen_info" in g, f"{name}/datagen_info is missing"):
            dg = g["datagen_info"]
            eef = self.dataset(dg, "eef_pose", (t, 4, 4))
            target = self.dataset(dg, "target_pose", (t, 4, 4))
            ga = self.dataset(dg, "gripper_action", (t, 1))
            for m, label in ((eef, "eef_pose"), (target, "target_pose")):
                if m is not None:
                    self.rotations(m, f"{name}/datagen_info/{label}")
            if eef is not None and a is not None:
                self.expect(np.allclose(eef[:, :3, 3], a), f"{name}: datagen_info/eef_pose disagrees with obs")
            if ga is not None and actions is not None:
                self.expect(np.array_equal(ga[:, 0], actions[:, 6]), f"{name}: gripper_action disagrees with actions")
            if self.expect("object_poses" in dg, f"{name}/datagen_info/object_poses is missing"):
                for i, obj_name in enumerate(object_names):
                    m = self.dataset(dg["object_poses"], obj_name, (t, 4, 4))
                    if m is not None:
                        self.rotations(m, f"{name}/datagen_info/object_poses/{obj_name}")
                        obj = per_key.get(("obs", "object"))
                        sl = self.column_slices().get(f"{obj_name}_pos")
                        if obj is not None and sl is not None:
                            self.expect(
                                np.allclose(m[:, :3, 3], obj[:, sl]),
                                f"{name}: object_poses/{obj_name} disagrees with obs/object",
                            )
            if self.expect("subtask_term_signals" in dg, f"{name}/datagen_info/subtask_term_signals is missing"):
                self.expect(len(subtask_names) > 0, f"{name} has no dmgen_subtask_names")
                for s in subtask_names:
                    sig = self.dataset(dg["subtask_term_signals"], s, (t,))
                    if sig is not None:
                        self.expect(np.all(np.isin(sig, [0, 1])), f"{name}: signal {s} is not 0/1")
            # Per-frame subtask labels: indices into dmgen_subtask_names, never decreasing,
            # switching where the previous subtask's termination signal rises.
            idx = self.dataset(dg, "subtask_index", (t,))
            if idx is not None and subtask_names:
                self.expect(idx.dtype.kind == "i", f"{name}/datagen_info/subtask_index dtype {idx.dtype}")
                self.expect(
                    np.all((idx >= 0) & (idx < len(subtask_names))) and np.all(np.diff(idx) >= 0),
                    f"{name}/datagen_info/subtask_index is not a non-decreasing subtask index",
                )
                if "subtask_term_signals" in dg and len(subtask_names) > 1:
                    first = dg["subtask_term_signals"][subtask_names[0]][()]
                    self.expect(
                        np.array_equal(first, (idx > 0).astype(first.dtype)),
                        f"{name}: subtask_index disagrees with the first subtask's signal",
                    )
        if "dmgen_failure_reason" in attrs:
            self.failed += 1
            self.expect(int(attrs["dmgen_failure_step"]) == t - 1, f"{name}: dmgen_failure_step is not T - 1")
        s = states.shape[1] if states is not None else None
        names_objects_state.append((tuple(object_names), s))
        return t

    def check_images(self, g, name, t):
        """Camera images as robomimic reads them: obs/<camera>_image (T, H, W, 3) uint8 in
        deflated chunks of one frame, depth (T, H, W, 1) float32, next_obs shifted by one."""
        if "obs" not in g:
            return
        cams = json.loads(self.f["data"].attrs["dmgen_config"]).get("cameras", {}).get("names", [])
        keys = sorted(k for k in g["obs"] if k.endswith("_image") or k.endswith("_depth"))
        want = sorted([f"{c}_image" for c in cams] + ([f"{c}_depth" for c in cams] if cams and
                      json.loads(self.f["data"].attrs["dmgen_config"])["cameras"].get("depth") else []))
        if g.attrs.get("dmgen_failure_reason") is not None:
            return
        self.expect(keys == want, f"{name}/obs image keys {keys}, configuration asks for {want}")
        for k in keys:
            d = g["obs"][k]
            depth = k.endswith("_depth")
            self.expect(d.dtype == (np.float32 if depth else np.uint8), f"{d.name} has dtype {d.dtype}")
            self.expect(d.ndim == 4 and d.shape[0] == t and d.shape[3] == (1 if depth else 3),
                        f"{d.name} has shape {d.shape}")
            self.expect(d.chunks == (1,) + d.shape[1:], f"{d.name} chunks {d.chunks}, expected one frame")
            self.expect(d.compression == "gzip", f"{d.name} compression {d.compression}")
            arr = d[()]
            if depth:
                self.expect(np.all(np.isfinite(arr)) and arr.min() >= 0 and arr.max() < 20,
                            f"{d.name} depths outside [0, 20) m")
            else:
                bg = np.array([196, 206, 220], dtype=np.uint8)
                self.expect(np.any(arr[0] != bg), f"{d.name} frame 0 is empty")
                self.expect(t < 2 or not np.array_equal(arr[0], arr[-1]), f"{d.name} never changes")
            if k in g["next_obs"]:
                nxt = g["next_obs"][k][()]
                self.expect(np.array_equal(nxt[:-1], arr[1:]), f"{name}/next_obs/{k} is not obs shifted by one")
            self.images += 1

    def column_slices(self):
        """obs/object's columns by name, as slices."""
        out, at = {}, 0
        for n, w in self.object_columns:
            out[n] = slice(at, at + w)
            at += w
        return out

    def run(self):
        with h5py.File(self.path, "r") as f:
            self.f = f
            if not self.expect("data" in f, "no 'data' group"):
                return self.problems
            data = f["data"]
            for attr in ("total", "env_args", "dmgen_config", "dmgen_stats"):
                self.expect(attr in data.attrs, f"data has no '{attr}' attribute")
            env = None
            try:
                env = json.loads(data.attrs["env_args"])
            except Exception as e:  # noqa: BLE001 - report any parse failure
                self.expect(False, f"data.attrs['env_args'] is not JSON: {e}")
            if env is not None:
                for key in ("env_name", "type", "env_kwargs"):
                    self.expect(key in env, f"env_args has no '{key}'")
            config = stats = None
            try:
                config = json.loads(data.attrs["dmgen_config"])
                stats = json.loads(data.attrs["dmgen_stats"])
            except Exception as e:  # noqa: BLE001
                self.expect(False, f"dmgen_config / dmgen_stats is not JSON: {e}")
            if env is not None and config is not None:
                # env_args names the Gymnasium environment of the task (robomimic's GYM_TYPE).
                task_camel = "".join(w.capitalize() for w in str(config.get("task")).split("_"))
                self.expect(env.get("env_name") == f"dmgen/{task_camel}-v0", f"env_args.env_name {env.get('env_name')} is not the task's Gymnasium id")
                self.expect(env.get("type") == 2, "env_args.type must be 2 (robomimic's EnvType.GYM_TYPE)")
                kwargs = env.get("env_kwargs", {})
                self.expect(kwargs.get("variant") == config.get("variant"), "env_kwargs.variant differs from dmgen_config")
                self.expect(kwargs.get("dynamics") == config.get("dynamics"), "env_kwargs.dynamics differs from dmgen_config")
                self.expect(kwargs.get("actions") == config.get("actions", "delta"), "env_kwargs.actions differs from dmgen_config")

            self.convention = str(data.attrs.get("dmgen_actions", "delta"))
            self.expect(int(data.attrs.get("dmgen_obs_layout", 0)) == 2, "dmgen_obs_layout is not 2")
            try:
                self.object_columns = [(str(n), int(w)) for n, w in json.loads(data.attrs["dmgen_object_columns"])]
            except (KeyError, ValueError, TypeError) as e:
                self.expect(False, f"dmgen_object_columns is not a JSON list of [name, width]: {e}")
            self.expect(self.convention in ("delta", "abs"), f"dmgen_actions is {self.convention}")
            self.failed = 0
            demos = sorted(data.keys(), key=lambda k: int(k.split("_")[1]) if k.startswith("demo_") else -1)
            self.expect(
                demos == [f"demo_{i}" for i in range(len(demos))],
                f"demo groups are not demo_0..demo_{len(demos) - 1}: {demos[:5]}...",
            )
            seen = []
            total = sum(self.check_demo(data[d], seen) for d in demos)
            self.expect(int(data.attrs.get("total", -1)) == total, f"data.attrs['total'] != {total}")
            self.expect(len(set(seen)) <= 1, f"episodes disagree on objects / state size: {set(seen)}")
            if stats is not None and self.failed:
                # A file of failed attempts: every episode is one, at most the run's failures.
                self.expect(self.failed == len(demos), "a failed-attempts file mixes in successes")
                fails = stats.get("attempts", 0) - stats.get("successes", 0)
                self.expect(len(demos) <= fails, f"{len(demos)} failed episodes but {fails} failures")
            elif stats is not None:
                self.expect(stats.get("kept") == len(demos), f"dmgen_stats.kept != {len(demos)}")
                self.expect(stats.get("successes", 0) <= stats.get("attempts", 0), "more successes than attempts")

            if self.expect("mask" in f, "no 'mask' group"):
                masks = {}
                for key in ("train", "valid"):
                    arr = self.dataset(f["mask"], key, (None,))
                    if arr is not None:
                        masks[key] = [x.decode("utf-8") for x in arr]
                if len(masks) == 2:
                    tr, va = masks["train"], masks["valid"]
                    self.expect(not set(tr) & set(va), "train and valid masks overlap")
                    self.expect(sorted(tr + va) == sorted(demos), "masks do not cover every demo exactly once")
                    if config is not None and len(demos) >= 2 and config.get("valid_fraction", 0) > 0:
                        self.expect(len(va) >= 1, "valid_fraction > 0 but mask/valid is empty")
            self.n_demos, self.total = len(demos), total
        return self.problems


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    failed = False
    for path in argv[1:]:
        c = Checker(path)
        problems = c.run()
        if problems:
            failed = True
            print(f"FAIL {path}: {len(problems)} problem(s)")
            for p in problems[:50]:
                print(f"  - {p}")
        else:
            images = f", {c.images} camera image datasets" if c.images else ""
            print(f"ok   {path}: {c.n_demos} demos, {c.total} samples{images}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

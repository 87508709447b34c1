"""Task files from Python: environments and generation from a file, a built-in task's own
file giving the built-in bytes, and bad files refused with the field named."""

import json
import os

import gymnasium as gym
import numpy as np
import pytest

import dmgen

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STACK = os.path.join(ROOT, "public", "tasks", "stack.json")


def wide_stack(tmp_path):
    """Stack as a new task: another id, the cubes kept 4 cm apart."""
    with open(STACK, encoding="utf-8") as f:
        t = json.load(f)
    t["id"] = "stack_wide"
    t["min_gap"] = 0.04
    path = tmp_path / "stack_wide.json"
    path.write_text(json.dumps(t))
    return path


def test_a_builtin_tasks_file_is_its_id(tmp_path):
    assert dmgen.load_task(STACK) == ("stack", None)
    a = dmgen.generate({"task": "stack", "episodes": 1, "max_attempts": 4}, tmp_path / "a.hdf5")
    b = dmgen.generate({"task_file": STACK, "episodes": 1, "max_attempts": 4}, tmp_path / "b.hdf5")
    assert a["sha256"] == b["sha256"]


def test_env_and_generation_from_a_new_task_file(tmp_path):
    path = wide_stack(tmp_path)
    task_id, custom = dmgen.load_task(path)
    assert task_id == "stack_wide" and custom["min_gap"] == 0.04
    env = dmgen.make_env(task_file=str(path))
    obs, _ = env.reset(seed=2)
    assert list(env.object_names) == ["cubeA", "cubeB"]
    # Every scene keeps the cubes' footprints (radius 3.5 and 4.2 cm) 4 cm apart.
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        o = obs["object"]
        gap = np.linalg.norm(o[0:2] - o[7:9])
        assert gap >= 0.0354 + 0.0424 + 0.04 - 1e-9
    env_id = dmgen.register_task_file(str(path))
    assert env_id == "dmgen/StackWide-v0"
    env2 = gym.make(env_id)
    obs2, _ = env2.reset(seed=2)
    assert env2.observation_space.contains(obs2)
    out = dmgen.generate({"task_file": str(path), "episodes": 1, "max_attempts": 6}, tmp_path / "w.hdf5")
    assert out["episodes"] == 1
    cfg = json.loads(dmgen.config_json({"task_file": str(path)}))
    assert cfg["task"] == "stack_wide" and cfg["custom_task"]["id"] == "stack_wide"


def test_bad_task_files_name_the_field(tmp_path):
    with open(STACK, encoding="utf-8") as f:
        t = json.load(f)
    t["objects"][1]["mass"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(t))
    with pytest.raises(dmgen.DmgenError, match=r"objects\[1\] \(cubeB\)\.mass: must be greater than 0"):
        dmgen.make_env(task_file=str(bad))
    with pytest.raises(dmgen.DmgenError, match="cannot read task file"):
        dmgen.load_task(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{\"id\": ")
    with pytest.raises(dmgen.DmgenError, match="line 1 column"):
        dmgen.generate({"task_file": str(tmp_path / "broken.json"), "episodes": 1}, tmp_path / "x.hdf5")


def test_the_schema_accepts_every_builtin_task_and_refuses_bad_ones():
    import glob

    import jsonschema

    with open(os.path.join(ROOT, "public", "task.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    files = sorted(glob.glob(os.path.join(ROOT, "public", "tasks", "*.json")))
    assert len(files) == len(dmgen.task_ids())
    for path in files:
        with open(path, encoding="utf-8") as f:
            errors = [e.message for e in v.iter_errors(json.load(f))]
        assert errors == [], (path, errors)
    with open(STACK, encoding="utf-8") as f:
        t = json.load(f)
    for edit in (
        lambda t: t["objects"][0].update(mass=0),
        lambda t: t["objects"][0].update(masss=1),
        lambda t: t["objects"][0]["parts"][0].update(type="torus"),
        lambda t: t.update(dmgen_task=2),
        lambda t: t["success"].update(type="levitating"),
    ):
        bad = json.loads(json.dumps(t))
        edit(bad)
        assert not v.is_valid(bad)

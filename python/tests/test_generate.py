"""Generation from Python: the CLI's bytes and summary, one attempt's arrays, shards."""

import hashlib
import json
import subprocess

import h5py
import numpy as np
import pytest

import dmgen

CONFIG = {"task": "lift", "variant": "dmg", "episodes": 5, "seed": 7}


def cli(dmgen_bin, *args):
    r = subprocess.run([dmgen_bin, *args], check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_a_config_gives_the_clis_bytes_and_summary(tmp_path, dmgen_bin):
    cfg_file = tmp_path / "c.json"
    cfg_file.write_text(dmgen.config_json(CONFIG))
    ours = dmgen.generate(CONFIG, tmp_path / "py.hdf5", threads=2)
    theirs = cli(dmgen_bin, "generate", "--config", str(cfg_file), "--quiet", "--threads", "1",
                 "--out", str(tmp_path / "cli.hdf5"))
    assert sha(tmp_path / "py.hdf5") == sha(tmp_path / "cli.hdf5") == ours["sha256"] == theirs["sha256"]
    assert set(ours) == set(theirs)
    for k in ("episodes", "attempts", "success_rate", "bytes", "format", "files"):
        assert ours[k] == theirs[k], k
    assert ours["episodes"] == 5
    side = json.loads((tmp_path / "py.json").read_text())
    assert side["stats"]["kept"] == 5 and side["config"]["seed"] == 7
    # A path to the config file and an episode override work the same way.
    again = dmgen.generate(str(cfg_file), tmp_path / "p2.hdf5", episodes=5, threads=1)
    assert again["sha256"] == ours["sha256"]


def test_generator_attempt_arrays_match_the_dataset(tmp_path):
    g = dmgen.Generator(CONFIG)
    out = tmp_path / "d.hdf5"
    dmgen.generate(CONFIG, out, threads=2)
    with h5py.File(out, "r") as f:
        ep = f["data"]["demo_0"]
        i = int(ep.attrs["dmgen_attempt"])
        a = g.attempt(i)
        assert a["success"] and a["index"] == i and a["failure"] is None
        assert a["seed"] == int(ep.attrs["dmgen_seed"])
        t = ep["actions"].shape[0]
        assert a["actions"].shape == (t, 7) and a["actions"].dtype == np.float64
        np.testing.assert_allclose(a["actions"], ep["actions"][()], rtol=0, atol=1e-12)
        np.testing.assert_allclose(a["actions_abs"], ep["actions_abs"][()], rtol=0, atol=1e-12)
        for k in ep["obs"]:
            if k in a["obs"]:
                np.testing.assert_allclose(a["obs"][k], ep["obs"][k][()], rtol=0, atol=1e-12, err_msg=k)
        np.testing.assert_array_equal(a["states"], ep["states"][()])
    # Deterministic per index.
    b = g.attempt(i)
    np.testing.assert_array_equal(a["actions"], b["actions"])
    assert g.config["seed"] == 7 and g.subtask_names


def test_shards_merge_into_the_generate_bytes(tmp_path):
    whole = dmgen.generate(CONFIG, tmp_path / "w.hdf5", threads=2)
    s1, ok1 = dmgen.generate_shard(CONFIG, 0, 4)
    s2, ok2 = dmgen.generate_shard(CONFIG, 4, 12)
    assert ok1 + ok2 >= 5
    data, kept, attempts = dmgen.merge_shards([s2, s1, s2], 5)
    assert kept == 5 and attempts == whole["attempts"]
    assert hashlib.sha256(data).hexdigest() == whole["sha256"]
    with pytest.raises(dmgen.DmgenError, match=r"attempts 0\.\.4 are in no shard"):
        dmgen.merge_shards([s2], 5)


def test_bad_configs_raise_with_the_cores_message(tmp_path):
    with pytest.raises(dmgen.DmgenError, match="episodes"):
        dmgen.generate({"task": "lift", "episodes": 0}, tmp_path / "x.hdf5")
    with pytest.raises(dmgen.DmgenError, match="unknown field"):
        dmgen.Generator({"task": "lift", "epsiodes": 3})
    with pytest.raises(dmgen.DmgenError, match="line 1"):
        dmgen.config_json("{not json")
    with pytest.raises(dmgen.DmgenError, match="cannot read config"):
        dmgen.config_json(tmp_path / "missing.json")
    with pytest.raises(dmgen.DmgenError, match="demo"):
        dmgen.Generator({"task": "lift"}, demo=b"garbage")
    with pytest.raises(TypeError):
        dmgen.config_json(42)
    assert not (tmp_path / "x.hdf5").exists()

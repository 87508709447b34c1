"""Generation on a local Ray with 2 workers gives the CLI's file."""

import hashlib
import json
import subprocess
import sys

import pytest

import dmgen

ray = pytest.importorskip("ray")


def test_ray_generation_is_byte_identical_to_the_cli(tmp_path, dmgen_bin):
    cfg = tmp_path / "c.json"
    cfg.write_text(dmgen.config_json({"task": "lift", "variant": "dmg", "episodes": 6, "seed": 3}))
    r = subprocess.run(
        [dmgen_bin, "generate", "--config", str(cfg), "--quiet", "--out", str(tmp_path / "cli.hdf5")],
        check=True, capture_output=True, text=True,
    )
    cli = json.loads(r.stdout.strip().splitlines()[-1])
    out = tmp_path / "ray.hdf5"
    p = subprocess.run(
        [sys.executable, "-m", "dmgen.ray_generate", "--config", str(cfg), "--shards", "2",
         "--shard-attempts", "2", "--num-cpus", "2", "--out", str(out)],
        check=True, capture_output=True, text=True,
    )
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert hashlib.sha256(out.read_bytes()).hexdigest() == cli["sha256"] == summary["sha256"]
    assert summary["episodes"] == 6 and summary["shards"] >= 3
    assert "attempts/s" in p.stderr

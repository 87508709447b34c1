"""Write a robomimic training config for a dmgen dataset (needs robomimic).

    python -m dmgen.robomimic_config --dataset stack.hdf5 --algo bc --epochs 200 --out bc.json
    python -m robomimic.scripts.train --config bc.json

The config trains on the dataset's low-dim observation keys (the ones the dmgen
environments observe) with robomimic's defaults for the algorithm otherwise; robomimic's own
rollouts are off (they need robosuite): evaluate the checkpoint with
``python -m dmgen.eval_robomimic``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

DEFAULT_KEYS = ["robot0_eef_pos", "robot0_eef_quat", "robot0_gripper_qpos", "object"]


def make_config(
    dataset: str,
    algo: str = "bc",
    epochs: int = 200,
    steps_per_epoch: int = 100,
    batch_size: int = 100,
    output_dir: str = "robomimic_runs",
    name: Optional[str] = None,
    obs_keys: Optional[List[str]] = None,
):
    from robomimic.config import config_factory

    c = config_factory(algo)
    with c.values_unlocked():
        c.train.data = dataset
        c.train.output_dir = output_dir
        c.train.num_epochs = epochs
        c.train.batch_size = batch_size
        c.train.hdf5_cache_mode = "all"
        c.experiment.name = name or f"dmgen_{algo}"
        c.experiment.rollout.enabled = False
        c.experiment.validate = False
        c.experiment.epoch_every_n_steps = steps_per_epoch
        c.experiment.save.enabled = True
        c.experiment.save.every_n_epochs = epochs
        c.observation.modalities.obs.low_dim = list(obs_keys or DEFAULT_KEYS)
    return c


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dmgen.robomimic_config", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--algo", default="bc", help="a robomimic algorithm (bc, bc_rnn needs config edits for seq_length)")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--output-dir", default="robomimic_runs")
    p.add_argument("--out", required=True, help="the config JSON to write")
    a = p.parse_args(argv)
    c = make_config(a.dataset, a.algo, a.epochs, a.steps_per_epoch, output_dir=a.output_dir)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(c, f, indent=2)
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

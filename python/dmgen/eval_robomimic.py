"""Evaluate a robomimic checkpoint in a dmgen environment.

    python -m dmgen.eval_robomimic --checkpoint model.pth --task stack --variant dmg --episodes 50

Needs the optional extra: ``pip install "./python[robomimic]"`` (robomimic 0.3 and torch;
docs/python.md lists what robomimic's own install gets wrong). The checkpoint's policy sees
the environment's observation dict (the keys it was trained on must be among the dataset's:
robot0_eef_pos, robot0_eef_quat, robot0_gripper_qpos, robot0_joint_pos, object) and its
actions are applied in the dataset's convention (``--actions``, delta by default, as the
``actions`` a dmgen dataset holds). Episode ``i`` starts from generation attempt ``i`` of
``--seed``, so two checkpoints evaluated with the same arguments meet the same scenes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any, Dict, List, Optional

import numpy as np

from . import _core
from .envs import DmgenEnv

#: The policy stage's default evaluation seed (not generation's), so evaluation scenes
#: are not the training scenes.
DEFAULT_SEED = _core.DEFAULT_EVAL_SEED


def evaluate(
    checkpoint: str,
    task: str,
    variant: str = "static",
    episodes: int = 50,
    seed: int = DEFAULT_SEED,
    actions: str = "delta",
    device: str = "cpu",
    env_kwargs: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Run ``episodes`` closed-loop episodes of the checkpoint's policy; returns the
    success rate, its 95% Wilson interval and the failure reasons."""
    try:
        import robomimic.utils.file_utils as file_utils
        import robomimic.utils.torch_utils as torch_utils
    except ImportError as e:  # pragma: no cover - depends on the optional extra
        raise SystemExit(
            f"robomimic is not installed ({e}); install the extra: pip install './python[robomimic]'"
        ) from None
    dev = torch_utils.get_torch_device(try_to_use_cuda=device != "cpu")
    policy, _ = file_utils.policy_from_checkpoint(ckpt_path=checkpoint, device=dev, verbose=False)
    env = DmgenEnv(task=task, variant=variant, actions=actions, **(env_kwargs or {}))
    reasons: Counter = Counter()
    successes = 0
    for i in range(episodes):
        obs, _ = env.reset(seed=seed, options={"attempt": i})
        policy.start_episode()
        info: Dict[str, Any] = {"success": False}
        while True:
            a = np.clip(np.asarray(policy(ob=obs), dtype=np.float64), env.action_space.low, env.action_space.high)
            obs, _, terminated, truncated, info = env.step(a)
            if terminated or truncated:
                break
        successes += int(info["success"])
        if not info["success"]:
            reasons[info.get("failure", "timeout")] += 1
    return {
        "checkpoint": checkpoint,
        "task": task,
        "variant": variant,
        "episodes": episodes,
        "seed": seed,
        "successes": successes,
        "success_rate": successes / episodes if episodes else 0.0,
        "ci95": list(_core.wilson(successes, episodes)),
        "failure_reasons": dict(sorted(reasons.items())),
    }


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dmgen.eval_robomimic", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="robomimic checkpoint (.pth)")
    p.add_argument("--task", required=True)
    p.add_argument("--variant", default="static", help="static, dmg, moving_target or push")
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--actions", default="delta", choices=["delta", "abs"])
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    r = evaluate(a.checkpoint, a.task, a.variant, a.episodes, a.seed, a.actions, a.device)
    lo, hi = r["ci95"]
    print(
        f"{r['task']} {r['variant']}: {r['successes']}/{r['episodes']} = {100 * r['success_rate']:.1f}% "
        f"(95% CI {100 * lo:.1f}-{100 * hi:.1f}); failures {r['failure_reasons']}",
        file=sys.stderr,
    )
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

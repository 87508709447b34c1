#!/usr/bin/env python3
"""Attempts per second of robosuite's Stack (Panda, OSC_POSE, 20 Hz, no rendering), the
reference the browser's speed is compared with (docs/results.md).

Usage: python robosuite-stack.py [--processes P] [--attempts N] [--steps T]

An attempt is a reset plus T control steps (default 200, a stack episode's length here) of
a scripted reach-down action sequence, the cost MimicGen pays per generation attempt
before its success check. Needs `pip install robosuite` (mujoco comes with it); prints one
JSON line.
"""

import argparse
import json
import multiprocessing as mp
import time


def worker(args):
    attempts, steps, seed = args
    import numpy as np
    import robosuite as suite
    from robosuite.controllers import load_composite_controller_config

    env = suite.make(
        "Stack",
        robots="Panda",
        controller_configs=load_composite_controller_config(controller="BASIC"),
        has_renderer=False,
        has_offscreen_renderer=False,
        use_camera_obs=False,
        control_freq=20,
        horizon=steps,
        ignore_done=True,
    )
    rng = np.random.default_rng(seed)
    # One untimed attempt first: the controller's first steps compile code (numba).
    for n in [1, attempts]:
        t0 = time.perf_counter()
        run(env, rng, n, steps)
    return attempts, time.perf_counter() - t0


def run(env, rng, attempts, steps):
    import numpy as np

    for _ in range(attempts):
        env.reset()
        for k in range(steps):
            a = np.zeros(env.action_dim)
            a[:3] = rng.uniform(-0.3, 0.3, 3)
            a[-1] = 1.0 if k > steps // 2 else -1.0
            env.step(a)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--attempts", type=int, default=5)
    p.add_argument("--steps", type=int, default=200)
    a = p.parse_args()
    jobs = [(a.attempts, a.steps, i) for i in range(a.processes)]
    t0 = time.perf_counter()
    if a.processes == 1:
        results = [worker(jobs[0])]
    else:
        with mp.get_context("spawn").Pool(a.processes) as pool:
            results = pool.map(worker, jobs)
    total = sum(n for n, _ in results)
    # Throughput over the slowest process's measured loop (start-up excluded).
    slowest = max(s for _, s in results)
    print(json.dumps({"processes": a.processes, "attempts": total, "steps": a.steps,
                      "attempts_per_s": round(total / slowest, 3), "wall_s": round(time.perf_counter() - t0, 2)}))


if __name__ == "__main__":
    main()

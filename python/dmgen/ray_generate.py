"""Generate a dataset on Ray: attempt ranges as Ray tasks, merged into the file
``dmgen generate`` writes for the same configuration.

    python -m dmgen.ray_generate --config C.json [--episodes N] --shards K --out F.hdf5 \\
        [--shard-attempts M] [--address ray://head:10001]

Each task runs one attempt range and returns its shard (the bytes of a
``dmgen generate --attempts A..B`` file). Ranges are launched ``K`` at a time, more until
the successes cover N episodes; a task that fails is re-run (Ray retries it), and the
merge keeps the first N successes in attempt order, so the file is byte-identical to a
single-machine run whatever the number of shards, workers or machines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from . import _core
from .generation import config_json


def _range_task(config: str, first: int, end: int, threads: int) -> Tuple[int, int, bytes, int]:
    data, ok = _core.generate_shard(config, first, end, threads)
    return first, end, data, ok


def run(
    config: Any,
    out: str,
    episodes: Optional[int] = None,
    shards: int = 2,
    shard_attempts: Optional[int] = None,
    address: Optional[str] = None,
    threads_per_task: int = 1,
    progress: bool = True,
    ray_init: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Run the generation on Ray and write ``out``; returns a summary (episodes,
    attempts, shards, seconds, attempts_per_second, bytes, sha256, out). Uses the Ray
    already initialised in this process, else connects to ``address`` (or starts a local
    one with ``ray_init`` as its settings)."""
    import ray

    text = config_json(config, episodes)
    cfg = json.loads(text)
    want = int(cfg["episodes"])
    budget = _core.attempt_budget(text)
    if shards < 1:
        raise ValueError("shards must be at least 1")
    # Ranges big enough to amortise a task's start, small enough that the last wave
    # wastes little: about the attempts the budget allows over 4 waves of K tasks.
    size = shard_attempts or max(1, min(_core.MAX_SHARD_ATTEMPTS, -(-budget // (4 * shards))))
    started_here = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(**(ray_init or {"include_dashboard": False, "log_to_driver": False}))
        started_here = True
    t0 = time.perf_counter()
    try:
        task = ray.remote(max_retries=3, num_cpus=threads_per_task)(_range_task)
        pending: Dict[Any, Tuple[int, int]] = {}
        done: Dict[int, Tuple[int, bytes, int]] = {}
        next_first = 0

        def launch() -> None:
            nonlocal next_first
            end = min(next_first + size, budget)
            ref = task.remote(text, next_first, end, threads_per_task)
            pending[ref] = (next_first, end)
            next_first = end

        def covered() -> Tuple[int, int]:
            """Successes and attempts in the gap-free prefix of finished ranges."""
            ok, at = 0, 0
            while at in done:
                end, _, s = done[at]
                ok, at = ok + s, end
            return ok, at

        while next_first < budget and len(pending) < shards:
            launch()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                first, end, data, ok = ray.get(ref)
                del pending[ref]
                done[first] = (end, data, ok)
            ok, at = covered()
            if progress:
                attempts = sum(e - f for f, (e, _, _) in done.items())
                successes = sum(s for _, _, s in done.values())
                rate = successes / attempts if attempts else 0.0
                el = time.perf_counter() - t0
                print(
                    f"\r{attempts} attempts, {successes} successes ({100 * rate:.1f}%), "
                    f"{attempts / max(el, 1e-9):.1f} attempts/s   ",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            if ok >= want:
                break
            # Successes still to come from running ranges do not count yet: keep K busy
            # until the prefix holds enough.
            while next_first < budget and len(pending) < shards:
                launch()
        for ref in pending:
            ray.cancel(ref, force=True)
        if progress:
            print(file=sys.stderr)
        ok, at = covered()
        if ok < want:
            raise _core.DmgenError(
                f"only {ok} of {want} episodes succeeded within the attempt budget of {budget}; "
                "raise max_attempts or check the demo and segmentation"
            )
        parts = [(done[f][1], f"attempts {f}..{done[f][0]}") for f in sorted(done) if f < at]
        data, kept, attempts = _core.merge_shards(parts, want)
        tmp = out + ".partial"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
        seconds = time.perf_counter() - t0
        computed = sum(e - f for f, (e, _, _) in done.items())
        return {
            "episodes": kept,
            "attempts": attempts,
            "attempts_computed": computed,
            "shards": len(done),
            "seconds": seconds,
            "attempts_per_second": computed / seconds if seconds > 0 else 0.0,
            "episodes_per_second": kept / seconds if seconds > 0 else 0.0,
            "bytes": len(data),
            "sha256": _core.sha256_hex(data),
            "out": out,
        }
    finally:
        if started_here:
            ray.shutdown()


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m dmgen.ray_generate",
        description="Generate a dmgen dataset on Ray (byte-identical to `dmgen generate`).",
    )
    p.add_argument("--config", required=True, help="configuration JSON file (as dmgen generate --config)")
    p.add_argument("--episodes", type=int, help="successful episodes to keep (default: the configuration's)")
    p.add_argument("--shards", type=int, default=2, help="attempt ranges running at once (default 2)")
    p.add_argument("--shard-attempts", type=int, help="attempts per range (default: from the budget)")
    p.add_argument("--out", required=True, help="output dataset (robomimic HDF5)")
    p.add_argument("--address", help="an existing Ray cluster (ray://host:10001 or auto); default: start a local one")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    a = p.parse_args(argv)
    init = {"include_dashboard": False, "log_to_driver": False}
    if a.num_cpus:
        init["num_cpus"] = a.num_cpus
    try:
        s = run(
            a.config,
            a.out,
            episodes=a.episodes,
            shards=a.shards,
            shard_attempts=a.shard_attempts,
            address=a.address,
            progress=not a.quiet,
            ray_init=init,
        )
    except (_core.DmgenError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Dataset generation from Python: the same configuration gives the same bytes as the CLI."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from . import _core

Config = Union[Dict[str, Any], str, "os.PathLike[str]"]
Demo = Union[bytes, str, "os.PathLike[str]", None]


def load_task(task_file: Union[str, "os.PathLike[str]"]) -> Tuple[str, Optional[Dict[str, Any]]]:
    """Read and check a task file (docs/tasks.md): ``(task id, custom task)``, where the
    custom task is the file's task as a dict, or ``None`` when the file is a built-in
    task's own (the id alone then names it, and gives the same bytes)."""
    path = os.fspath(task_file)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise _core.DmgenError(f"cannot read task file '{path}': {e}") from None
    try:
        task_id, custom = _core.read_task(text)
    except _core.DmgenError as e:
        raise _core.DmgenError(f"{path}: {e}") from None
    return task_id, (json.loads(custom) if custom is not None else None)


def config_json(config: Config, episodes: Optional[int] = None) -> str:
    """The canonical JSON of a configuration, validated by the core.

    ``config`` is a dict (the fields of a configuration file), JSON text, or the path
    of a JSON file (what ``dmgen generate --config`` reads). A dict that names a
    ``task`` (or a ``task_file``, as ``dmgen generate --task-file`` reads) and no
    ``demo`` starts from that task's built-in demo, as ``dmgen generate --task`` does.
    ``episodes`` overrides the episode count.
    """
    if isinstance(config, dict):
        c = dict(config)
        task_file = c.pop("task_file", None)
        if task_file is not None:
            c["task"], custom = load_task(task_file)
            if custom is not None:
                c["custom_task"] = custom
        if "task" in c and "demo" not in c:
            c["demo"] = {"kind": "builtin", "id": c["task"]}
        text = json.dumps(c)
    elif isinstance(config, (str, os.PathLike)):
        s = os.fspath(config)
        if s.lstrip().startswith("{"):
            text = s
        else:
            try:
                with open(s, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise _core.DmgenError(f"cannot read config '{s}': {e}") from None
    else:
        raise TypeError(f"config must be a dict, JSON text or a path, not {type(config).__name__}")
    return _core.canonical_config(text, episodes)


def _demo(demo: Demo) -> Tuple[Optional[bytes], Optional[str]]:
    if demo is None:
        return None, None
    if isinstance(demo, (bytes, bytearray, memoryview)):
        return bytes(demo), "the demo"
    path = os.fspath(demo)
    try:
        with open(path, "rb") as f:
            return f.read(), path
    except OSError as e:
        raise _core.DmgenError(f"cannot read demo '{path}': {e}") from None


def generate(
    config: Config,
    out: Union[str, "os.PathLike[str]"],
    episodes: Optional[int] = None,
    threads: Optional[int] = None,
    keep_failed: Optional[Union[str, "os.PathLike[str]"]] = None,
    demo: Demo = None,
) -> Dict[str, Any]:
    """Generate a robomimic dataset into ``out``; returns the summary ``dmgen generate``
    prints (episodes, attempts, success_rate, seconds, episodes_per_second, format,
    files, bytes, sha256, out). Writes ``<out stem>.json`` with the configuration and
    statistics beside it. Raises ``DmgenError`` when the core refuses the configuration
    or fewer than ``episodes`` attempts succeed within the attempt budget."""
    text = config_json(config)
    data, name = _demo(demo)
    summary = _core.generate(
        text,
        os.fspath(out),
        episodes=episodes,
        threads=threads,
        keep_failed=None if keep_failed is None else os.fspath(keep_failed),
        demo=data,
        demo_name=name,
    )
    return json.loads(summary)


class Generator:
    """The generator of one configuration: ``attempt(i)`` runs attempt ``i`` (its scene,
    dynamics and seed depend only on the configuration and ``i``) and returns its arrays:
    ``obs`` (dict of (T, k) float64 arrays, the dataset's keys), ``actions`` (T, 7) in the
    delta convention, ``actions_abs``, ``rewards``, ``states``, ``subtask``, ``success``,
    ``failure`` (a reason or None), ``index``, ``seed``, ``object_names``."""

    def __init__(self, config: Config, demo: Demo = None) -> None:
        data, name = _demo(demo)
        self._g = _core.Generator(config_json(config), data, name)

    @property
    def config(self) -> Dict[str, Any]:
        return json.loads(self._g.config_json)

    @property
    def subtask_names(self) -> List[str]:
        return self._g.subtask_names

    def attempt(self, index: int) -> Dict[str, Any]:
        if index < 0:
            raise ValueError(f"attempt indices start at 0, not {index}")
        return self._g.attempt(index)


def generate_shard(
    config: Config,
    first: int,
    end: int,
    threads: Optional[int] = None,
    demo: Demo = None,
) -> Tuple[bytes, int]:
    """The attempts ``first..end`` (end exclusive) as the bytes of a shard file, the file
    ``dmgen generate --attempts first..end`` writes, and how many succeeded."""
    if first < 0 or end <= first:
        raise ValueError(f"the range {first}..{end} is empty or negative (the end is exclusive)")
    data, name = _demo(demo)
    return _core.generate_shard(config_json(config), first, end, threads, data, name)


def merge_shards(
    shards: Iterable[Union[bytes, str, "os.PathLike[str]"]], episodes: int
) -> Tuple[bytes, int, int]:
    """Merge shards (bytes or paths, in any order; duplicates are ignored) into the
    dataset of their first ``episodes`` successes in attempt order, byte-identical to
    ``dmgen generate`` with the same episode count. Returns ``(bytes, kept, attempts)``;
    raises ``DmgenError`` naming the missing range when a gap stops the merge short."""
    pairs = []
    for i, s in enumerate(shards):
        if isinstance(s, (bytes, bytearray, memoryview)):
            pairs.append((bytes(s), f"shard {i}"))
        else:
            p = os.fspath(s)
            with open(p, "rb") as f:
                pairs.append((f.read(), p))
    return _core.merge_shards(pairs, episodes)

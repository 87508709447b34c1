"""dmgen: one robot demonstration in, a physically validated robomimic dataset out.

The Rust core of the dmgen playground for Python. Importing the package registers a
Gymnasium environment per task (``dmgen/Lift-v0``, ``dmgen/Stack-v0``, ...); the
generation functions write the same bytes as ``dmgen generate``.
"""

from ._core import DmgenError, task_ids, version
from .envs import ENV_IDS, DmgenEnv, env_from_dataset, make_env, register_envs, register_task_file
from .generation import Generator, config_json, generate, generate_shard, load_task, merge_shards

__version__ = version()

__all__ = [
    "DmgenError",
    "DmgenEnv",
    "ENV_IDS",
    "Generator",
    "config_json",
    "env_from_dataset",
    "generate",
    "generate_shard",
    "load_task",
    "make_env",
    "merge_shards",
    "register_envs",
    "register_task_file",
    "task_ids",
    "version",
]

register_envs()

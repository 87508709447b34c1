"""Gymnasium environments of the dmgen tasks.

Each environment is the policy stage's evaluation world (the core's closed-loop rollout):
a Panda-like arm in rapier3d physics at 20 Hz, objects reset as generation attempts reset
them, and the dynamic variants moving objects as generation does.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Tuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import _core
from .generation import load_task



def _env_id(task: str) -> str:
    return "dmgen/" + "".join(p.capitalize() for p in task.split("_")) + "-v0"


#: Environment id of every task.
ENV_IDS: Dict[str, str] = {t: _env_id(t) for t in _core.task_ids()}

# Bounds of an absolute action: a position (m) and a rotation vector (rad) in the scene
# frame, then the gripper command.
_ABS_LOW = np.array([-2.0, -2.0, -2.0, -np.pi, -np.pi, -np.pi, -1.0])
_ABS_HIGH = -_ABS_LOW


class DmgenEnv(gym.Env):
    """A dmgen task as a Gymnasium environment.

    Observations are a ``Dict`` with exactly the dataset's ``obs`` keys (float64):
    ``robot0_eef_pos`` (3), ``robot0_eef_quat`` (4, xyzw), ``robot0_gripper_qpos`` (2),
    ``robot0_joint_pos`` (7) and ``object`` (robosuite's object-state for the task: object
    poses and the relative vectors that define it; layout in docs/dataset.md).
    Actions follow the dataset's ``actions``: with ``actions="delta"`` a ``Box(-1, 1, (7,))``
    moving the hand target from the measured hand pose by up to 5 cm and 0.5 rad per step,
    with ``actions="abs"`` the target pose itself (position, rotation vector); the last
    value closes the gripper when positive.

    ``reset(seed=s)`` starts the scene of generation attempt 0 of a configuration with seed
    ``s``; later resets without a seed go on with attempts 1, 2, ... (the scenes a
    generation run with that seed meets, in order). ``options={"attempt": i}`` picks
    attempt ``i``. Reward is 1 on success, else 0; ``terminated`` on success (or a physics
    failure), ``truncated`` at the task's time limit; ``info`` has ``success`` and, once
    an episode fails, ``failure`` (the reason).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        task: str = "stack",
        variant: str = "static",
        actions: str = "delta",
        render_mode: Optional[str] = None,
        camera: str = "agentview",
        width: int = 256,
        height: int = 256,
        dynamics: Optional[Dict[str, Any]] = None,
        cameras: Optional[Dict[str, Any]] = None,
        reset: str = "d0",
        geometry: str = "playground",
        task_file: Optional[str] = None,
        **dynamics_settings: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', not {render_mode!r}")
        d = dict(dynamics or {})
        d.update(dynamics_settings)
        settings: Dict[str, Any] = {"task": task, "variant": variant, "episodes": 1}
        # A task file (docs/tasks.md) instead of a built-in task id.
        if task_file is not None:
            task, custom = load_task(task_file)
            settings["task"] = task
            if custom is not None:
                settings["custom_task"] = custom
        if d:
            settings["dynamics"] = d
        # MimicGen's reset levels (d0, d1, d2; which ones a task has: docs/tasks.md).
        if reset != "d0":
            settings["reset"] = reset
        # Object sizes: this tool's or robosuite's (docs/tasks.md, "Demos recorded elsewhere").
        if geometry != "playground":
            settings["geometry"] = geometry
        self._core = _core.EnvCore(json.dumps(settings), actions)
        self.task = task
        self.reset_level = reset
        self.geometry = geometry
        self.variant = variant
        self.actions = actions
        self.render_mode = render_mode
        self.camera = camera
        self.width, self.height = int(width), int(height)
        # Image observations, as a dataset's `cameras` setting records them:
        # {"names": [...], "width": 84, "height": 84} adds obs["<name>_image"] (H, W, 3) uint8.
        cam = dict(cameras or {})
        unknown = set(cam) - {"names", "width", "height", "depth", "next_obs"}
        if unknown:
            raise ValueError(f"unknown camera settings {sorted(unknown)}")
        # Depth maps are a dataset option only; the environment's images are RGB.
        self.cameras = [str(n) for n in cam.get("names", [])]
        self.camera_size = (int(cam.get("width", 84)), int(cam.get("height", 84)))
        self.max_steps = self._core.max_steps
        self.object_names = self._core.object_names
        # Unit quaternions and finger positions within 1, positions (m) and joint angles
        # (rad) within 10.
        bound = {"robot0_eef_quat": 1.0, "robot0_gripper_qpos": 1.0}
        self.observation_space = spaces.Dict(
            {
                k: spaces.Box(-bound.get(k, 10.0), bound.get(k, 10.0), (w,), np.float64)
                for k, w in self._core.obs_widths
            }
        )
        w_img, h_img = self.camera_size
        for name in self.cameras:
            self.observation_space.spaces[f"{name}_image"] = spaces.Box(0, 255, (h_img, w_img, 3), np.uint8)
        if actions == "delta":
            self.action_space = spaces.Box(-1.0, 1.0, (7,), np.float64)
        else:
            self.action_space = spaces.Box(_ABS_LOW, _ABS_HIGH, (7,), np.float64)
        self._seed: Optional[int] = None
        self._attempt = -1
        # Set by env_from_dataset: the (seed, attempt) every plain reset() returns to.
        self._origin: Optional[Tuple[int, int]] = None
        self.reset_obs: Optional[Dict[str, np.ndarray]] = None

    @property
    def attempt(self) -> int:
        """The generation attempt index whose scene the episode started from."""
        return self._attempt

    @property
    def scene_seed(self) -> Optional[int]:
        """The configuration seed whose attempts the resets walk through."""
        return self._seed

    def reset(
        self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None
    ) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
        super().reset(seed=seed)
        if seed is None and self._origin is not None and not (options and "attempt" in options):
            # An environment made for one dataset episode: every plain reset() starts it.
            self._seed, self._attempt = self._origin
        elif seed is not None:
            if not 0 <= seed < 2**64:
                raise ValueError(f"seed must be in [0, 2**64), not {seed}")
            self._seed, self._attempt = int(seed), 0
        elif self._seed is None:
            self._seed, self._attempt = int(self.np_random.integers(0, 2**63)), 0
        else:
            self._attempt += 1
        if options and "attempt" in options:
            a = int(options["attempt"])
            if a < 0:
                raise ValueError(f"attempt indices start at 0, not {a}")
            self._attempt = a
        obs = self._with_images(self._core.reset(self._seed, self._attempt))
        self.reset_obs = obs
        return obs, {"success": False, "attempt": self._attempt, "seed": self._seed}

    def step(
        self, action: Any
    ) -> Tuple[Dict[str, np.ndarray], float, bool, bool, Dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (7,):
            raise ValueError(f"an action has shape (7,), not {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"actions must be finite, got {a.tolist()}")
        obs, reward, terminated, truncated, success, failure = self._core.step(a.tolist())
        obs = self._with_images(obs)
        info: Dict[str, Any] = {"success": success}
        if failure is not None:
            info["failure"] = failure
        return obs, reward, terminated, truncated, info

    def _with_images(self, obs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        w, h = self.camera_size
        for name in self.cameras:
            obs[f"{name}_image"] = self._core.render(name, w, h)
        return obs

    def render(self) -> Optional[np.ndarray]:
        if self.render_mode is None:
            gym.logger.warn("render() without render_mode='rgb_array' returns nothing")
            return None
        return self._core.render(self.camera, self.width, self.height)

    def camera_image(self, camera: str = "agentview", width: int = 84, height: int = 84) -> np.ndarray:
        """An RGB image (H, W, 3) of the current scene from ``agentview`` or
        ``robot0_eye_in_hand``, whatever the render mode."""
        return self._core.render(camera, width, height)


def make_env(task: str = "stack", task_file: Optional[str] = None, **kwargs: Any) -> DmgenEnv:
    """A task's environment: a built-in ``task`` by id, or the task a ``task_file``
    describes (docs/tasks.md). Other arguments are :class:`DmgenEnv`'s."""
    return DmgenEnv(task=task, task_file=task_file, **kwargs)


def register_task_file(task_file: str) -> str:
    """Register the task a file describes as a Gymnasium environment and return its id,
    ``dmgen/<Id>-v0`` (``gym.make(id)`` then builds it from the file)."""
    task, _ = load_task(task_file)
    env_id = _env_id(task)
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point="dmgen.envs:DmgenEnv", kwargs={"task_file": os.fspath(task_file)})
    return env_id


def register_envs() -> None:
    """Register ``dmgen/<Task>-v0`` for every task (done on import)."""
    for task, env_id in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="dmgen.envs:DmgenEnv", kwargs={"task": task})


def env_from_dataset(path: str, demo: str = "demo_0", **kwargs: Any) -> DmgenEnv:
    """An environment reset to the initial state of episode ``demo`` of a dataset this
    tool wrote: the same task, variant, dynamics and action convention, and the scene of
    the episode's generation attempt. Stepping the episode's ``actions`` from there
    retraces its ``obs``. Every ``reset()`` without a seed (what a Gymnasium user calls
    first) starts that episode again; the first observation is also ``env.reset_obs``.
    ``reset(seed=...)`` or ``options={"attempt": i}`` leave it for other scenes."""
    config_text, attempt, _seed = _core.episode_origin(str(path), demo)
    cfg = json.loads(config_text)
    env = DmgenEnv(
        task=cfg["task"],
        variant=cfg.get("variant", "static"),
        actions=cfg.get("actions", "delta"),
        dynamics=cfg.get("dynamics"),
        cameras=cfg.get("cameras"),
        reset=cfg.get("reset", "d0"),
        geometry=cfg.get("geometry", "playground"),
        **kwargs,
    )
    env._origin = (int(cfg["seed"]), int(attempt))
    env.reset()
    return env

"""The Gymnasium environments: spaces, the checker, scenes as generation's, replay of a
dataset's actions, rendering and bad input."""

import gymnasium as gym
import h5py
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dmgen

KEYS = ["robot0_eef_pos", "robot0_eef_quat", "robot0_gripper_qpos", "robot0_joint_pos", "object"]


@pytest.mark.parametrize("env_id", sorted(dmgen.ENV_IDS.values()))
def test_every_env_passes_gymnasiums_checker(env_id):
    env = gym.make(env_id, render_mode="rgb_array", width=64, height=48)
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=3)
    assert list(obs) == KEYS
    assert env.observation_space.contains(obs)
    assert info["success"] is False
    img = env.render()
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8
    # Something besides the background is drawn.
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 5
    env.close()


def test_env_ids_cover_every_task():
    assert set(dmgen.ENV_IDS) == set(dmgen.task_ids())
    assert dmgen.ENV_IDS["pick_place"] == "dmgen/PickPlace-v0"
    assert "dmgen/Stack-v0" in gym.registry


def test_reset_seed_gives_the_scenes_of_generation_attempts():
    g = dmgen.Generator({"task": "stack", "seed": 11})
    env = gym.make("dmgen/Stack-v0")
    obs, info = env.reset(seed=11)
    first = g.attempt(0)["obs"]["object"][0]
    np.testing.assert_array_equal(obs["object"], first)
    # The next unseeded reset is attempt 1 of the same seed; options pick any attempt.
    obs1, info1 = env.reset()
    assert info1["attempt"] == 1
    np.testing.assert_array_equal(obs1["object"], g.attempt(1)["obs"]["object"][0])
    obs5, _ = env.reset(seed=11, options={"attempt": 5})
    np.testing.assert_array_equal(obs5["object"], g.attempt(5)["obs"]["object"][0])
    assert not np.array_equal(obs5["object"], first)


def test_a_datasets_actions_replay_its_episodes(lift_dataset):
    worst = 0.0
    with h5py.File(lift_dataset, "r") as f:
        demos = sorted(f["data"].keys(), key=lambda n: int(n.split("_")[1]))
        assert len(demos) == 4
        for name in demos:
            ep = f["data"][name]
            env = dmgen.env_from_dataset(str(lift_dataset), demo=name)
            # A Gymnasium user calls reset() first (here twice): each starts this episode.
            first, _ = env.reset()
            obs, info = env.reset()
            for k in KEYS:
                np.testing.assert_array_equal(obs[k], first[k])
            actions = ep["actions"][()]
            info = {}
            for t in range(actions.shape[0]):
                for k in KEYS:
                    worst = max(worst, float(np.max(np.abs(obs[k] - ep["obs"][k][t]))))
                obs, reward, terminated, truncated, info = env.step(actions[t])
                if terminated or truncated:
                    break
            assert info["success"], (name, t, actions.shape[0], info)
            assert reward == 1.0 and terminated and not truncated
    print(f"largest deviation of a replayed observation from the dataset's: {worst:.3g}")
    # The same physics from the same scene with the recorded actions: agreement far
    # below anything a policy could notice (the actions are stored as float64).
    assert worst < 1e-6, worst


def test_bad_actions_raise_value_error():
    env = gym.make("dmgen/Lift-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(6))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((7, 1)))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([0, 0, np.nan, 0, 0, 0, 1.0]))
    # The episode goes on after a refused action.
    env.step(np.zeros(7))


def test_reset_levels_match_generation_and_are_checked():
    # Square D2 (MimicGen's): the env's scenes are the generator's at that level, wider than D0.
    g = dmgen.Generator({"task": "square", "seed": 3, "reset": "d2"})
    env = dmgen.DmgenEnv(task="square", reset="d2")
    far = 0
    for k in range(6):
        obs, _ = env.reset(seed=3, options={"attempt": k})
        np.testing.assert_array_equal(obs["object"], g.attempt(k)["obs"]["object"][0])
        # Layout 2: nut pose (7), the nut in the hand's frame (7), then the peg's position.
        peg_x, peg_y = obs["object"][14], obs["object"][15]
        far += not (0.45 <= peg_x <= 0.6 and -0.16 <= peg_y <= -0.08)
    assert far > 0
    with pytest.raises(dmgen.DmgenError, match="reset level d1.*levels: d0"):
        dmgen.DmgenEnv(task="lift", reset="d1")


def test_a_robosuite_geometry_dataset_replays_in_an_env_of_that_geometry(tmp_path):
    # robosuite's 4 cm cubeA: the env a dataset builds has the dataset's object sizes, so
    # the episode's actions succeed again (with this tool's 5 cm cube they need not).
    out = tmp_path / "stack_rs.hdf5"
    dmgen.generate({"task": "stack", "episodes": 1, "seed": 2, "geometry": "robosuite"}, out, threads=1)
    env = dmgen.env_from_dataset(str(out), demo="demo_0")
    assert env.geometry == "robosuite"
    with h5py.File(out, "r") as f:
        ep = f["data"]["demo_0"]
        actions = ep["actions"][()]
        np.testing.assert_allclose(env.reset_obs["object"], ep["obs"]["object"][0], atol=1e-6)
    info = {}
    for a in actions:
        _, _, terminated, truncated, info = env.step(a)
        if terminated or truncated:
            break
    assert info["success"] and terminated


def test_bad_settings_raise_with_the_cores_message():
    with pytest.raises(dmgen.DmgenError, match="task"):
        dmgen.DmgenEnv(task="no_such_task")
    with pytest.raises(dmgen.DmgenError, match="speed_mps|unknown field"):
        dmgen.DmgenEnv(task="lift", variant="dmg", speed_mps=-3.0, no_such_setting=1)
    with pytest.raises(dmgen.DmgenError):
        dmgen.DmgenEnv(task="lift", actions="joint")
    with pytest.raises(dmgen.DmgenError, match="cannot read"):
        dmgen.env_from_dataset(__file__.replace("test_env.py", "missing.hdf5"))


def test_env_from_dataset_names_a_missing_episode(lift_dataset):
    with pytest.raises(dmgen.DmgenError, match="no episode 'demo_99'.*4 episodes"):
        dmgen.env_from_dataset(str(lift_dataset), demo="demo_99")


def test_episode_ends_and_reports_why():
    env = gym.make("dmgen/Lift-v0").unwrapped
    env.reset(seed=2)
    steps, info = 0, {}
    while True:
        # Hold still with the gripper open: the task times out.
        _, reward, terminated, truncated, info = env.step(np.array([0, 0, 0, 0, 0, 0, -1.0]))
        steps += 1
        if terminated or truncated:
            break
    assert truncated and not terminated and reward == 0.0
    assert info == {"success": False, "failure": "timeout"}
    assert steps == env.max_steps
    with pytest.raises(ValueError, match="reset"):
        env.step(np.zeros(7))


def test_wrist_camera_and_dynamic_variants():
    env = dmgen.DmgenEnv(task="stack", variant="dmg", probability=1.0)
    env.reset(seed=4)
    img = env.camera_image("robot0_eye_in_hand", 84, 84)
    assert img.shape == (84, 84, 3)
    a = env.camera_image("agentview", 84, 84)
    assert not np.array_equal(a, img)
    with pytest.raises(ValueError, match="camera"):
        env.camera_image("topview")


def test_image_observations_are_the_datasets_images(tmp_path):
    """A dataset recorded with both cameras, replayed in the environment it names
    (env_args carries the cameras): the environment's image observations are the file's
    images, pixel for pixel, at the start and along the episode."""
    out = tmp_path / "lift_cameras.hdf5"
    cfg = {"task": "lift", "cameras": {"names": ["agentview", "robot0_eye_in_hand"], "width": 64, "height": 48}}
    dmgen.generate(cfg, str(out), episodes=1, threads=1)
    env = dmgen.env_from_dataset(str(out), demo="demo_0")
    assert env.observation_space["agentview_image"].shape == (48, 64, 3)
    obs = env.reset_obs
    with h5py.File(out, "r") as f:
        ep = f["data/demo_0"]
        actions = ep["actions"][()]
        images = {c: ep["obs"][f"{c}_image"][()] for c in ("agentview", "robot0_eye_in_hand")}
    assert images["agentview"].shape == (actions.shape[0], 48, 64, 3)
    checked = 0
    for t in range(min(30, actions.shape[0])):
        for c, frames in images.items():
            assert obs[f"{c}_image"].dtype == np.uint8
            assert np.array_equal(obs[f"{c}_image"], frames[t]), (c, t)
            checked += 1
        obs, *_ = env.step(actions[t])
    assert checked == 60
    assert env.observation_space.contains(obs)

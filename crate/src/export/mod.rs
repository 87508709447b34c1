//! robomimic-compatible HDF5 datasets, streamed episode by episode, identical bytes natively and in wasm32.
//!
//! The generator fills one [`EpisodeRecord`] per kept episode (one [`StepRecord`] per 20 Hz
//! control step plus the observation after the last action) and hands it to a
//! [`DatasetWriter`]:
//!
//! ```no_run
//! # use dmgen::{config::GenerationConfig, export::*};
//! # fn episodes() -> Vec<EpisodeRecord> { vec![] }
//! let config = GenerationConfig::default();
//! let mut writer = DatasetWriter::new(&config)?;
//! for episode in episodes() {
//!     writer.add_episode(&episode)?; // encoded now; `episode` can be dropped
//! }
//! let stats = GenerationStats::default();
//! let bytes: Vec<u8> = writer.finish(&stats)?;
//! # Ok::<(), ExportError>(())
//! ```
//!
//! The file layout, with shapes, dtypes and units, is documented in `docs/dataset.md`.
//! Summary: `data` (attrs `total`, `env_args`, `dmgen_config`, `dmgen_stats`), one group
//! `data/demo_<i>` per episode in the order added (attr `num_samples`; datasets `actions`,
//! `actions_abs`, `states`, `rewards`, `dones`, `obs/*`, `next_obs/*`, `datagen_info/*`),
//! and `mask/train`, `mask/valid`.
//!
//! Streaming: the writer never holds the file. `add_episode` encodes the episode at once
//! (8 bytes per stored number, about `T * (81 + 30 * n_objects + n_subtasks + S) * 8`
//! bytes for `T` steps, `n_objects` objects, `n_subtasks` subtasks and state size `S`: a
//! 200-step episode with 2 objects, 2 subtasks and S = 40 is ~0.3 MB, plus ~4 kB of
//! headers and string heap) into pending output that [`DatasetWriter::take_output`] hands
//! to the caller, who appends it to a file, a Blob, or a vector. The writer itself keeps
//! ~30 bytes per episode (its name and header address) for the final `data` group, so a
//! run of any length is written in memory proportional to one episode. The file's
//! superblock, which records the file length and the root group, comes last and goes at
//! offset 0 (see [`DatasetWriter::finish_streaming`]).
//!
//! Format: a subset of HDF5 written by `export/h5.rs` (superblock v2, compact groups, no
//! B-trees), read by libhdf5 1.8+ / h5py (1.10+ for the deflate option) and by hdf5-pure.
//!
//! One file per format, this file holding what they share (the episode records, the
//! action conventions, the statistics): `robomimic.rs` the robomimic HDF5 writer
//! ([`DatasetWriter`]), `h5.rs` the forward-only HDF5 encoder under it.
//!
//! Determinism: no clocks, threads or platform math; numbers are written little-endian as
//! given, and no timestamps are stored. The same inputs give the same bytes on every
//! platform (see the golden digest test), however the output is taken.

use crate::config::{canonical_json, ConfigError, GenerationConfig};
use crate::geom::{m, Pose, Quat, Vec3};
pub(crate) mod h5;
pub mod layout;
#[cfg(feature = "lerobot")]
pub mod lerobot;
mod robomimic;

pub use crate::camera::CameraFrames;
pub use layout::{ObjectLayout, OBJECT_LAYOUT};

use h5::H5Error;
pub use robomimic::{DatasetWriter, ExportOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Metres of end-effector motion that a normalised position action of 1.0 asks for
/// (robosuite OSC_POSE `output_max` for position).
pub const POS_ACTION_SCALE: f64 = 0.05;
/// Radians of rotation that a normalised rotation action of 1.0 asks for
/// (robosuite OSC_POSE `output_max` for orientation).
pub const ROT_ACTION_SCALE: f64 = 0.5;
/// robomimic's `EnvType.GYM_TYPE`, written as `env_args.type`: the world a dataset came
/// from is this tool's Gymnasium environment `env_args.env_name` made with
/// `env_args.env_kwargs` (see `docs/dataset.md` for what robomimic does with it).
pub const ENV_TYPE_GYM: i64 = 2;
/// Largest relative deviation from unit norm accepted for a quaternion before it is
/// rejected (smaller deviations are normalised away).
pub const QUAT_NORM_TOLERANCE: f64 = 1e-3;

/// Problems while building a dataset, naming the episode and step involved.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportError {
    /// The generation configuration is invalid.
    Config(ConfigError),
    /// The episode has no steps.
    EmptyEpisode { episode: usize },
    /// A value is NaN or infinite.
    NonFinite {
        episode: usize,
        step: usize,
        field: &'static str,
    },
    /// Sizes or indices that do not agree (object count, state length, subtask index...).
    Inconsistent { episode: usize, message: String },
    /// An object or subtask name cannot be an HDF5 link name.
    BadName { name: String, message: String },
    /// Values outside what the format can hold (e.g. an attempt index above i64::MAX).
    OutOfRange(String),
    /// The HDF5 writer refused the file (a bug in this module if it ever happens).
    Hdf5(String),
    /// A dataset given to a converter cannot be read or lacks what the output needs.
    Input(String),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Config(e) => write!(f, "{e}"),
            ExportError::EmptyEpisode { episode } => write!(
                f,
                "episode {episode} has no steps; only add episodes that ran at least one control step"
            ),
            ExportError::NonFinite {
                episode,
                step,
                field,
            } => write!(
                f,
                "episode {episode}, step {step}: {field} is NaN or infinite; the simulation probably diverged, drop this episode"
            ),
            ExportError::Inconsistent { episode, message } => {
                write!(f, "episode {episode}: {message}")
            }
            ExportError::BadName { name, message } => write!(f, "name '{name}': {message}"),
            ExportError::OutOfRange(s) => write!(f, "{s}"),
            ExportError::Hdf5(s) => write!(f, "the HDF5 writer failed: {s}"),
            ExportError::Input(s) => write!(f, "input dataset: {s}"),
        }
    }
}

impl std::error::Error for ExportError {}

impl From<ConfigError> for ExportError {
    fn from(e: ConfigError) -> Self {
        ExportError::Config(e)
    }
}

impl From<H5Error> for ExportError {
    fn from(e: H5Error) -> Self {
        ExportError::Hdf5(e.0)
    }
}

/// What the robot and the scene look like at one instant.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Observation {
    /// End-effector (gripper centre point) pose in the scene frame (m; unit quaternion).
    pub eef: Pose,
    /// The two finger joint positions (m), robosuite order: `[+w/2, -w/2]` for opening `w`
    /// (see [`finger_qpos_from_width`]).
    pub finger_qpos: [f64; 2],
    /// Arm joint positions (rad).
    pub joint_pos: [f64; 7],
    /// Object poses, in the episode's `object_names` order.
    pub objects: Vec<Pose>,
    /// Flattened simulator state (`World::state`), the same length at every step.
    pub state: Vec<f64>,
}

/// One control step: the observation before acting, and the command sent.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct StepRecord {
    /// Observation before the command.
    pub obs: Observation,
    /// End-effector target pose commanded at this step.
    pub target: Pose,
    /// Gripper command: `true` closes.
    pub gripper_closed: bool,
    /// Task reward after this step (robosuite sparse convention: 1.0 while the success
    /// condition holds, else 0.0).
    pub reward: f64,
    /// Index into the episode's `subtask_names` of the subtask being executed.
    pub subtask: usize,
}

/// One generated episode, as the generator records it.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct EpisodeRecord {
    /// Attempt index (position in the generation run; its seed is `episode_seed(seed, attempt)`).
    pub attempt: u64,
    /// The episode's RNG seed.
    pub seed: u64,
    /// Whether the task succeeded (datasets normally hold successful episodes only).
    pub success: bool,
    /// Object names, fixing the order of every object array. At least one, unique.
    pub object_names: Vec<String>,
    /// Subtask names in execution order (e.g. `["grasp", "place"]`). At least one, unique.
    pub subtask_names: Vec<String>,
    /// The T control steps.
    pub steps: Vec<StepRecord>,
    /// Observation after the last step's command (the last `next_obs`).
    pub final_obs: Observation,
    /// Camera images, one series per configured camera (empty without cameras; failed
    /// attempts carry none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<CameraFrames>,
}

/// What a dataset records of `world` at one control step (generation, scripted demos
/// and policy evaluation all observe through this, so their observations agree).
pub fn observe(world: &crate::sim::PandaWorld) -> Observation {
    use crate::sim::World;
    Observation {
        eef: world.eef_pose(),
        finger_qpos: finger_qpos_from_width(world.gripper_width()),
        joint_pos: world.joint_positions(),
        objects: world.object_poses(),
        state: world.state(),
    }
}

/// The low-dim observation keys of every dataset (`obs/<key>`), in the writer's order.
pub const LOW_DIM_KEYS: [&str; 5] = [
    "robot0_eef_pos",
    "robot0_eef_quat",
    "robot0_gripper_qpos",
    "robot0_joint_pos",
    "object",
];

/// Width of low-dim key `key` with `object` laid out as `layout` (`None`: not a key).
pub fn low_dim_width(key: &str, layout: &ObjectLayout) -> Option<usize> {
    match key {
        "robot0_eef_pos" => Some(3),
        "robot0_eef_quat" => Some(4),
        "robot0_gripper_qpos" => Some(2),
        "robot0_joint_pos" => Some(7),
        "object" => Some(layout.width()),
        _ => None,
    }
}

/// Hand one step's values of low-dim key `key` to `emit` (in pieces, in order): hand pose
/// `eef` and object poses `objects` (unit quaternions, `xyzw`) and the rest of `o`, with
/// `object` laid out as `layout`. The dataset writer, the policy evaluation and the
/// Python environments all lay observations out through this. `false` for an unknown key.
pub fn push_low_dim(
    key: &str,
    eef: &Pose,
    o: &Observation,
    objects: &[Pose],
    layout: &ObjectLayout,
    mut emit: impl FnMut(&[f64]),
) -> bool {
    match key {
        "robot0_eef_pos" => emit(&eef.pos.0),
        "robot0_eef_quat" => emit(&eef.quat.0),
        "robot0_gripper_qpos" => emit(&o.finger_qpos),
        "robot0_joint_pos" => emit(&o.joint_pos),
        "object" => layout.push(eef, objects, emit),
        _ => return false,
    }
    true
}

/// Finger joint positions for an opening of `width` metres between the pads.
pub fn finger_qpos_from_width(width: f64) -> [f64; 2] {
    [0.5 * width, -0.5 * width]
}

/// Gripper action value: 1 closed, -1 open (robomimic / MimicGen convention).
pub fn gripper_action(closed: bool) -> f64 {
    if closed {
        1.0
    } else {
        -1.0
    }
}

/// The normalised delta-pose action (robosuite OSC_POSE with `input_type = "delta"`,
/// world-frame rotations): `[dpos / 0.05, rotvec(target * inv(eef)) / 0.5, gripper]`,
/// each of the first six components clipped to [-1, 1].
pub fn delta_action(eef: &Pose, target: &Pose, gripper_closed: bool) -> [f64; 7] {
    let dpos = (target.pos - eef.pos) * (1.0 / POS_ACTION_SCALE);
    let drot = (target.quat * eef.quat.conj()).to_rotvec() * (1.0 / ROT_ACTION_SCALE);
    let c = |v: f64| v.clamp(-1.0, 1.0);
    [
        c(dpos.0[0]),
        c(dpos.0[1]),
        c(dpos.0[2]),
        c(drot.0[0]),
        c(drot.0[1]),
        c(drot.0[2]),
        gripper_action(gripper_closed),
    ]
}

/// The `actions` (delta) and `actions_abs` columns of an episode, row-major (T, 7), from
/// each step's hand pose, target and gripper command (unit quaternions): the absolute
/// rotation vectors stay continuous from step to step (see [`absolute_action`]).
pub fn action_columns(
    steps: impl ExactSizeIterator<Item = (Pose, Pose, bool)>,
) -> (Vec<f64>, Vec<f64>) {
    let mut delta = Vec::with_capacity(steps.len() * 7);
    let mut abs: Vec<f64> = Vec::with_capacity(steps.len() * 7);
    for (eef, target, closed) in steps {
        delta.extend_from_slice(&delta_action(&eef, &target, closed));
        let prev = abs
            .len()
            .checked_sub(7)
            .map(|k| Vec3::new(abs[k + 3], abs[k + 4], abs[k + 5]));
        abs.extend_from_slice(&absolute_action(&target, closed, prev));
    }
    (delta, abs)
}

/// The hand and object poses of an observation with unit quaternions, as datasets and
/// policies see them.
pub fn unit_poses(o: &Observation) -> (Pose, Vec<Pose>) {
    let unit = |p: &Pose| Pose::new(p.pos, p.quat.normalized());
    (unit(&o.eef), o.objects.iter().map(unit).collect())
}

/// The absolute action: `[target position (m), target rotation vector (rad), gripper]`.
/// `prev_rotvec`: the previous step's rotation vector (`None` at an episode's first
/// step): the representative nearest to it is written, so an episode's rotation vectors
/// are continuous (no 2 pi jumps where the angle passes pi; see [`Quat::to_rotvec_near`]).
pub fn absolute_action(target: &Pose, gripper_closed: bool, prev_rotvec: Option<Vec3>) -> [f64; 7] {
    let r = match prev_rotvec {
        Some(p) => target.quat.to_rotvec_near(p),
        None => target.quat.to_rotvec(),
    };
    [
        target.pos.0[0],
        target.pos.0[1],
        target.pos.0[2],
        r.0[0],
        r.0[1],
        r.0[2],
        gripper_action(gripper_closed),
    ]
}

/// Which of `n` kept episodes go to `mask/valid`: `k = round(n * fraction)` of them, at
/// least 1 when `fraction > 0` and `n >= 2`, at most `n - 1`, evenly spread:
/// episode `floor((j + 1) * n / k) - 1` for `j = 0..k` (with 0.1: the 10th, 20th, ...).
pub fn valid_split(n: usize, fraction: f64) -> Vec<bool> {
    let mut out = vec![false; n];
    if n < 2 || fraction.is_nan() || fraction <= 0.0 {
        return out;
    }
    let k = ((n as f64 * fraction).round() as usize).clamp(1, n - 1);
    for j in 0..k {
        out[(j + 1) * n / k - 1] = true;
    }
    out
}

/// Attempt and success counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub attempts: u64,
    pub successes: u64,
}

/// What a generation run did; stored as the `dmgen_stats` attribute.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerationStats {
    /// Attempts run (successful or not).
    pub attempts: u64,
    /// Successful attempts.
    pub successes: u64,
    /// Episodes written to the dataset (the first `episodes` successes in attempt order).
    pub kept: u64,
    /// Counts per method label (`dmg`, `mimicgen`).
    pub by_method: BTreeMap<String, Counts>,
    /// Counts per variant label (e.g. `static`, `dmg/dynamic`).
    pub by_variant: BTreeMap<String, Counts>,
    /// Failure reason -> number of failed attempts.
    pub failure_reasons: BTreeMap<String, u64>,
    /// Wall-clock seconds of the run, as measured by the caller (the library has no clock).
    pub seconds: f64,
}

impl GenerationStats {
    /// Count one attempt; `failure` is `None` on success, else a short reason
    /// (e.g. `"object dropped"`).
    pub fn record(&mut self, method: &str, variant: &str, failure: Option<&str>) {
        let ok = failure.is_none();
        self.attempts += 1;
        self.successes += u64::from(ok);
        for c in [
            self.by_method.entry(method.to_string()).or_default(),
            self.by_variant.entry(variant.to_string()).or_default(),
        ] {
            c.attempts += 1;
            c.successes += u64::from(ok);
        }
        if let Some(reason) = failure {
            *self.failure_reasons.entry(reason.to_string()).or_default() += 1;
        }
    }

    /// Successes / attempts (0 when nothing ran).
    pub fn success_rate(&self) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            self.successes as f64 / self.attempts as f64
        }
    }

    /// Canonical JSON (sorted keys, no whitespace). A non-finite `seconds` is written as 0.
    pub fn to_canonical_json(&self) -> String {
        let mut s = self.clone();
        if !s.seconds.is_finite() {
            s.seconds = 0.0;
        }
        match serde_json::to_value(&s) {
            Ok(v) => canonical_json(&v),
            // Unreachable: every field is plain data with finite numbers.
            Err(_) => "{}".into(),
        }
    }
}

/// The Gymnasium id of a task's environment in this tool's Python package:
/// `dmgen/<Task>-v0`, the task id in CamelCase (`pick_place` -> `dmgen/PickPlace-v0`).
pub fn gymnasium_id(task: &str) -> String {
    let camel: String = task
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("dmgen/{camel}-v0")
}

/// The `env_args` JSON robomimic reads: the environment the dataset came from,
/// `{"env_name": "dmgen/<Task>-v0", "type": 2, "env_kwargs": {"variant", "dynamics",
/// "actions"[, "cameras"]}}`, i.e. `gymnasium.make(env_name, **env_kwargs)` builds its world. The full
/// generation configuration is in `dmgen_config`.
pub fn env_args_json(config: &GenerationConfig) -> Result<String, ConfigError> {
    let c = config.to_json_value()?;
    let mut v = serde_json::json!({
        "env_name": gymnasium_id(&config.task),
        "type": ENV_TYPE_GYM,
        "env_kwargs": {
            "variant": c["variant"],
            "dynamics": c["dynamics"],
            "actions": config.actions.as_str(),
        },
    });
    if !config.cameras.is_off() {
        // The environment's image observations, as the dataset records them.
        v["env_kwargs"]["cameras"] = c["cameras"].clone();
    }
    Ok(canonical_json(&v))
}

/// A deterministic synthetic episode (a pick-and-place-like sweep over `steps` steps with
/// two objects, named as the default task's: `cubeA` and `cubeB`): for samples, tests and cross-platform digests.
/// Not physically simulated.
pub fn synthetic_episode(index: u64, steps: usize) -> EpisodeRecord {
    let steps = steps.max(1);
    let phase = index as f64 * 0.37;
    let obs_at = |k: usize| -> Observation {
        let s = k as f64 / steps as f64;
        let a = 2.0 * std::f64::consts::PI * s + phase;
        let eef = Pose::new(
            Vec3::new(0.1 * m::cos(a), 0.1 * m::sin(a), 0.2 - 0.1 * s),
            Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI)
                * Quat::from_yaw(0.3 * m::sin(a)),
        );
        let width = if s < 0.5 { 0.08 } else { 0.05 };
        let cube_a = Pose::new(
            Vec3::new(0.05 + 0.02 * phase.fract(), -0.05, 0.025),
            Quat::from_yaw(0.2 * phase),
        );
        let cube_b = Pose::new(
            Vec3::new(-0.05, 0.05 + 0.01 * s, 0.025),
            Quat::from_yaw(-0.4),
        );
        let joint_pos = [
            0.0,
            0.2 * s,
            0.0,
            -2.0 + 0.1 * s,
            0.0,
            2.2,
            0.78 + 0.3 * m::sin(a),
        ];
        let mut state = vec![s];
        state.extend_from_slice(&joint_pos);
        state.extend_from_slice(&cube_a.pos.0);
        state.extend_from_slice(&cube_a.quat.0);
        state.extend_from_slice(&cube_b.pos.0);
        state.extend_from_slice(&cube_b.quat.0);
        Observation {
            eef,
            finger_qpos: finger_qpos_from_width(width),
            joint_pos,
            objects: vec![cube_a, cube_b],
            state,
        }
    };
    let step_list = (0..steps)
        .map(|k| {
            let obs = obs_at(k);
            let next = obs_at(k + 1);
            // The target leads the next pose a little, so some actions saturate.
            let target = Pose::new(
                next.eef.pos + (next.eef.pos - obs.eef.pos) * 2.0,
                next.eef.quat,
            );
            let s = k as f64 / steps as f64;
            StepRecord {
                obs,
                target,
                gripper_closed: s >= 0.5,
                reward: if k + 1 == steps { 1.0 } else { 0.0 },
                subtask: usize::from(s >= 0.5),
            }
        })
        .collect();
    EpisodeRecord {
        attempt: index,
        seed: crate::rng::episode_seed(0, index),
        success: true,
        object_names: vec!["cubeA".into(), "cubeB".into()],
        subtask_names: vec!["grasp".into(), "place".into()],
        steps: step_list,
        final_obs: obs_at(steps),
        images: Vec::new(),
    }
}

/// A complete synthetic dataset of `episodes` episodes of `steps` steps (default config
/// with `episodes` kept), as file bytes.
pub fn synthetic_dataset(
    episodes: u32,
    steps: usize,
    options: ExportOptions,
) -> Result<Vec<u8>, ExportError> {
    let config = GenerationConfig {
        episodes: episodes.max(1),
        ..Default::default()
    };
    let mut w = DatasetWriter::with_options(&config, options)?;
    let mut stats = GenerationStats::default();
    for i in 0..u64::from(episodes) {
        if i % 4 == 3 {
            stats.record("dmg", "dmg/dynamic", Some("object dropped"));
        }
        stats.record("dmg", "dmg/static", None);
        w.add_episode(&synthetic_episode(i, steps))?;
    }
    stats.kept = u64::from(episodes);
    stats.seconds = 1.5;
    w.finish(&stats)
}

/// sha256 of `synthetic_dataset(3, 20, ExportOptions::default())`; see
/// `golden_digest_of_synthetic_dataset` for how to regenerate it. A wasm32 build of this
/// function produced the same digest (and the same for [`GOLDEN_SHA256_DEFLATE6`]); a test
/// on the wasm side should assert these constants.
pub const GOLDEN_SHA256: &str = "15ed8770c2a4bf8e893c352e64a57cedcb04a01a4c2545a2bb5ba0cf37acd02b";

/// sha256 of `synthetic_dataset(3, 20, ExportOptions { deflate_level: Some(6) })`.
pub const GOLDEN_SHA256_DEFLATE6: &str =
    "6b50a891b26bfcf706ad20bf946dd201edcf2a2caff520f49f305782d1fb8380";

#[cfg(test)]
mod tests {
    use super::*;
    use hdf5_pure::File;

    fn sample(episodes: u32, steps: usize) -> Vec<u8> {
        synthetic_dataset(episodes, steps, ExportOptions::default()).unwrap()
    }

    fn f64s(f: &File, path: &str) -> (Vec<u64>, Vec<f64>) {
        let d = f.dataset(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        (d.shape().unwrap(), d.read_f64().unwrap())
    }

    #[test]
    fn delta_action_scales_and_clips() {
        let eef = Pose::new(Vec3::new(0.1, 0.2, 0.3), Quat::from_yaw(0.4));
        let target = Pose::new(
            Vec3::new(0.11, 0.2, 0.2),
            Quat::from_yaw(0.25) * Quat::from_yaw(0.4),
        );
        let a = delta_action(&eef, &target, true);
        assert!((a[0] - 0.2).abs() < 1e-12, "{a:?}");
        assert_eq!(a[1], 0.0);
        assert_eq!(a[2], -1.0, "0.1 m down clips to -1");
        assert!(a[3].abs() < 1e-12 && a[4].abs() < 1e-12);
        assert!((a[5] - 0.5).abs() < 1e-12, "0.25 rad about z is 0.5: {a:?}");
        assert_eq!(a[6], 1.0);
        assert_eq!(
            delta_action(&eef, &eef, false),
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
        );
        let big = Pose::new(eef.pos, Quat::from_yaw(-2.0) * eef.quat);
        assert_eq!(delta_action(&eef, &big, false)[5], -1.0);
        let abs = absolute_action(&target, false, None);
        assert_eq!(&abs[..3], &target.pos.0);
        assert!((abs[5] - 0.65).abs() < 1e-12);
        assert_eq!(abs[6], -1.0);
    }

    #[test]
    fn valid_split_is_even_and_bounded() {
        let s = valid_split(100, 0.1);
        let idx: Vec<usize> = (0..100).filter(|&i| s[i]).collect();
        assert_eq!(idx, vec![9, 19, 29, 39, 49, 59, 69, 79, 89, 99]);
        assert_eq!(valid_split(1, 0.1), vec![false]);
        assert_eq!(valid_split(5, 0.1), vec![false, false, false, false, true]);
        assert!(valid_split(10, 0.0).iter().all(|v| !v));
        let s = valid_split(7, 0.5);
        assert_eq!(s.iter().filter(|v| **v).count(), 4);
        assert!(!s.iter().all(|v| *v));
    }

    #[test]
    fn stats_count_and_serialise_canonically() {
        let mut s = GenerationStats::default();
        s.record("dmg", "static", None);
        s.record("dmg", "dynamic", Some("dropped"));
        s.record("mimicgen", "dynamic", Some("dropped"));
        s.record("mimicgen", "dynamic", Some("missed grasp"));
        assert_eq!((s.attempts, s.successes), (4, 1));
        assert_eq!(
            s.by_method["mimicgen"],
            Counts {
                attempts: 2,
                successes: 0
            }
        );
        assert_eq!(s.by_variant["dynamic"].attempts, 3);
        assert_eq!(s.failure_reasons["dropped"], 2);
        assert_eq!(s.success_rate(), 0.25);
        let j = s.to_canonical_json();
        let back: GenerationStats = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
        assert!(j.starts_with(r#"{"attempts":4,"by_method":"#), "{j}");
    }

    #[test]
    fn same_input_same_bytes() {
        let a = sample(3, 12);
        let b = sample(3, 12);
        assert_eq!(a, b);
        assert_ne!(a, sample(3, 13));
        let z1 = synthetic_dataset(
            3,
            12,
            ExportOptions {
                deflate_level: Some(4),
            },
        )
        .unwrap();
        let z2 = synthetic_dataset(
            3,
            12,
            ExportOptions {
                deflate_level: Some(4),
            },
        )
        .unwrap();
        assert_eq!(z1, z2);
        assert_ne!(z1, a);
    }

    /// Pins the exact bytes of a small synthetic dataset. The wasm build must produce the
    /// same digest. If the layout changes on purpose, regenerate with
    /// `cargo test --lib export::tests::golden -- --nocapture` and paste the printed digest.
    #[test]
    fn golden_digest_of_synthetic_dataset() {
        let bytes = sample(3, 20);
        let digest = crate::config::sha256_hex(&bytes);
        println!(
            "synthetic_dataset(3, 20): {} bytes, sha256 {digest}",
            bytes.len()
        );
        assert_eq!(digest, GOLDEN_SHA256);
        let z = synthetic_dataset(
            3,
            20,
            ExportOptions {
                deflate_level: Some(6),
            },
        )
        .unwrap();
        let zdigest = crate::config::sha256_hex(&z);
        println!("deflate 6: {} bytes, sha256 {zdigest}", z.len());
        assert_eq!(zdigest, GOLDEN_SHA256_DEFLATE6);
    }

    #[test]
    fn streamed_output_is_the_same_file() {
        let config = GenerationConfig::default();
        let mut whole = DatasetWriter::new(&config).unwrap();
        let mut streamed = DatasetWriter::new(&config).unwrap();
        let mut file = vec![0u8; 48];
        for i in 0..7 {
            let ep = synthetic_episode(i, 9 + i as usize);
            whole.add_episode(&ep).unwrap();
            streamed.add_episode(&ep).unwrap();
            // Take output after some episodes only: pending bytes carry over.
            if i % 3 != 1 {
                file.extend(streamed.take_output());
            }
            assert_eq!(streamed.bytes_written(), whole.bytes_written());
        }
        let stats = GenerationStats::default();
        let expected = whole.finish(&stats).unwrap();
        assert!(matches!(
            {
                let mut w = DatasetWriter::new(&config).unwrap();
                w.take_output();
                w.finish(&stats)
            },
            Err(ExportError::OutOfRange(_))
        ));
        let (rest, superblock) = streamed.finish_streaming(&stats).unwrap();
        file.extend(rest);
        file[..48].copy_from_slice(&superblock);
        assert_eq!(file.len(), expected.len());
        assert!(
            file == expected,
            "streamed bytes differ from the in-memory file"
        );
        let f = File::from_bytes(file).unwrap();
        assert_eq!(
            f.dataset("data/demo_6/rewards").unwrap().shape().unwrap(),
            vec![15]
        );
    }

    #[test]
    fn layout_shapes_and_attrs_match_the_documentation() {
        let t = 16usize;
        let bytes = sample(12, t);
        let f = File::from_bytes(bytes).unwrap();
        let data = f.group("data").unwrap();
        let attrs = data.attrs().unwrap();
        assert_eq!(attrs["total"].as_i64(), Some(12 * t as i64));
        let env: serde_json::Value =
            serde_json::from_str(attrs["env_args"].as_str().unwrap()).unwrap();
        assert_eq!(env["env_name"], "dmgen/Stack-v0");
        assert_eq!(env["type"], 2);
        assert_eq!(env["env_kwargs"]["variant"], "dmg");
        assert_eq!(env["env_kwargs"]["actions"], "delta");
        assert_eq!(
            env["env_kwargs"]["dynamics"]["speed_mps"],
            GenerationConfig::default().dynamics.speed_mps
        );
        assert_eq!(gymnasium_id("pick_place"), "dmgen/PickPlace-v0");
        let cfg = GenerationConfig::from_json(attrs["dmgen_config"].as_str().unwrap()).unwrap();
        assert_eq!(cfg.episodes, 12);
        let stats: GenerationStats =
            serde_json::from_str(attrs["dmgen_stats"].as_str().unwrap()).unwrap();
        assert_eq!((stats.attempts, stats.kept), (15, 12));
        let mut demos = data.groups().unwrap();
        demos.sort();
        assert_eq!(demos.len(), 12);

        let d = "data/demo_3";
        let g = f.group(d).unwrap();
        let ga = g.attrs().unwrap();
        assert_eq!(ga["num_samples"].as_i64(), Some(t as i64));
        assert_eq!(ga["dmgen_attempt"].as_i64(), Some(3));
        let t64 = t as u64;
        for (name, shape) in [
            ("actions", vec![t64, 7]),
            ("actions_abs", vec![t64, 7]),
            ("states", vec![t64, 22]),
            ("rewards", vec![t64]),
            ("obs/robot0_eef_pos", vec![t64, 3]),
            ("obs/robot0_eef_quat", vec![t64, 4]),
            ("obs/robot0_gripper_qpos", vec![t64, 2]),
            ("obs/robot0_joint_pos", vec![t64, 7]),
            ("obs/object", vec![t64, 23]),
            ("next_obs/object", vec![t64, 23]),
            ("datagen_info/eef_pose", vec![t64, 4, 4]),
            ("datagen_info/target_pose", vec![t64, 4, 4]),
            ("datagen_info/gripper_action", vec![t64, 1]),
            ("datagen_info/object_poses/cubeA", vec![t64, 4, 4]),
            ("datagen_info/object_poses/cubeB", vec![t64, 4, 4]),
        ] {
            assert_eq!(f64s(&f, &format!("{d}/{name}")).0, shape, "{name}");
        }
        let (_, actions) = f64s(&f, &format!("{d}/actions"));
        assert!(actions.iter().all(|a| (-1.0..=1.0).contains(a)));
        assert!(
            actions.iter().any(|a| a.abs() == 1.0),
            "the sample saturates some actions"
        );
        let dones = f
            .dataset(&format!("{d}/dones"))
            .unwrap()
            .read_i64()
            .unwrap();
        assert_eq!(dones.iter().sum::<i64>(), 1);
        assert_eq!(dones[t - 1], 1);
        // Per-frame subtask labels agree with the termination signals; the names are
        // on the file.
        let idx = f
            .dataset(&format!("{d}/datagen_info/subtask_index"))
            .unwrap()
            .read_i64()
            .unwrap();
        assert_eq!(idx.len(), t);
        assert_eq!(idx.iter().position(|v| *v == 1), Some(t / 2));
        assert!(idx.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(attrs["dmgen_actions"].as_str(), Some("delta"));
        assert_eq!(
            attrs["dmgen_subtask_names"].as_strings(),
            Some(&["grasp".to_string(), "place".to_string()][..])
        );
        // Demo names are contiguous from 0 (Diffusion Policy iterates demo_0..demo_{n-1}).
        let mut ids: Vec<usize> = demos.iter().map(|n| n[5..].parse().unwrap()).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..12).collect::<Vec<_>>());
        // next_obs is obs shifted by one step.
        let (_, o) = f64s(&f, &format!("{d}/obs/robot0_eef_pos"));
        let (_, n) = f64s(&f, &format!("{d}/next_obs/robot0_eef_pos"));
        assert_eq!(&o[3..], &n[..3 * (t - 1)]);
        // The matrix form agrees with the observation.
        let (_, m4) = f64s(&f, &format!("{d}/datagen_info/eef_pose"));
        assert_eq!([m4[3], m4[7], m4[11], m4[15]], [o[0], o[1], o[2], 1.0]);
        let (_, q) = f64s(&f, &format!("{d}/obs/robot0_eef_quat"));
        for c in q.chunks(4) {
            let n2: f64 = c.iter().map(|v| v * v).sum();
            assert!((n2 - 1.0).abs() < 1e-12);
        }
        // Subtask signals: grasp ends at the first step of "place"; place at the success step.
        let grasp = f
            .dataset(&format!("{d}/datagen_info/subtask_term_signals/grasp"))
            .unwrap()
            .read_i64()
            .unwrap();
        let place = f
            .dataset(&format!("{d}/datagen_info/subtask_term_signals/place"))
            .unwrap()
            .read_i64()
            .unwrap();
        assert_eq!(grasp.iter().position(|v| *v == 1), Some(t / 2));
        assert_eq!(place.iter().position(|v| *v == 1), Some(t - 1));
        // Masks: 12 episodes at 0.1 -> one valid episode, the last.
        let train = f.dataset("mask/train").unwrap().read_string().unwrap();
        let valid = f.dataset("mask/valid").unwrap().read_string().unwrap();
        assert_eq!(valid, vec!["demo_11"]);
        assert_eq!(train.len(), 11);
        assert_eq!(train[0], "demo_0");
    }

    #[test]
    fn absolute_convention_puts_absolute_actions_in_actions_and_failures_carry_their_reason() {
        let cfg = GenerationConfig {
            actions: crate::config::ActionConvention::Abs,
            ..Default::default()
        };
        let mut w = DatasetWriter::new(&cfg).unwrap();
        let ep = synthetic_episode(0, 10);
        w.add_episode(&ep).unwrap();
        w.add_failed_episode(&synthetic_episode(1, 6), "dropped")
            .unwrap();
        let f = File::from_bytes(w.finish(&GenerationStats::default()).unwrap()).unwrap();
        let (shape, abs) = f64s(&f, "data/demo_0/actions");
        assert_eq!(shape, vec![10, 7]);
        let (_, delta) = f64s(&f, "data/demo_0/actions_delta");
        assert!(f.dataset("data/demo_0/actions_abs").is_err());
        // The absolute action's position is the target's, not a clipped delta.
        let t0 = ep.steps[0].target.pos;
        assert_eq!(&abs[0..3], &t0.0);
        assert!(delta.iter().all(|a| (-1.0..=1.0).contains(a)));
        let a = f.group("data").unwrap().attrs().unwrap();
        assert_eq!(a["dmgen_actions"].as_str(), Some("abs"));
        let g = f.group("data/demo_1").unwrap().attrs().unwrap();
        assert_eq!(g["dmgen_failure_reason"].as_str(), Some("dropped"));
        assert_eq!(g["dmgen_failure_step"].as_i64(), Some(5));
        assert!(!f
            .group("data/demo_0")
            .unwrap()
            .attrs()
            .unwrap()
            .contains_key("dmgen_failure_reason"));
    }

    #[test]
    fn empty_run_gives_a_valid_file_with_empty_masks() {
        let w = DatasetWriter::new(&GenerationConfig::default()).unwrap();
        let f = File::from_bytes(w.finish(&GenerationStats::default()).unwrap()).unwrap();
        assert_eq!(
            f.group("data").unwrap().attrs().unwrap()["total"].as_i64(),
            Some(0)
        );
        assert!(f
            .dataset("mask/valid")
            .unwrap()
            .read_string()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn compressed_file_reads_back_the_same_numbers() {
        let plain = File::from_bytes(sample(2, 30)).unwrap();
        let z = File::from_bytes(
            synthetic_dataset(
                2,
                30,
                ExportOptions {
                    deflate_level: Some(6),
                },
            )
            .unwrap(),
        )
        .unwrap();
        for p in [
            "data/demo_1/actions",
            "data/demo_1/obs/object",
            "data/demo_0/states",
        ] {
            assert_eq!(f64s(&plain, p), f64s(&z, p), "{p}");
        }
        let bad = DatasetWriter::with_options(
            &GenerationConfig::default(),
            ExportOptions {
                deflate_level: Some(12),
            },
        );
        assert!(matches!(bad, Err(ExportError::OutOfRange(_))));
    }

    #[test]
    fn bad_episodes_are_rejected_and_leave_the_writer_untouched() {
        let mut w = DatasetWriter::new(&GenerationConfig::default()).unwrap();
        w.add_episode(&synthetic_episode(0, 5)).unwrap();
        let good = synthetic_episode(1, 5);
        let mut cases: Vec<(EpisodeRecord, &str)> = Vec::new();
        let mut e = good.clone();
        e.steps.clear();
        cases.push((e, "no steps"));
        let mut e = good.clone();
        e.steps[2].obs.joint_pos[3] = f64::NAN;
        cases.push((e, "joint positions"));
        let mut e = good.clone();
        e.final_obs.eef.pos = Vec3::new(f64::INFINITY, 0.0, 0.0);
        cases.push((e, "eef pose"));
        let mut e = good.clone();
        e.steps[1].obs.objects.pop();
        cases.push((e, "object poses"));
        let mut e = good.clone();
        e.steps[4].obs.state.push(0.0);
        cases.push((e, "state of length"));
        let mut e = good.clone();
        e.steps[0].subtask = 2;
        cases.push((e, "subtask 2"));
        let mut e = good.clone();
        e.object_names[1] = "a/b".into();
        cases.push((e, "'/'"));
        let mut e = good.clone();
        e.subtask_names[1] = "grasp".into();
        cases.push((e, "twice"));
        let mut e = good.clone();
        e.object_names = vec!["cubeB".into(), "cubeA".into()];
        cases.push((e, "are not the task's"));
        let mut e = good.clone();
        e.steps[3].target.quat = Quat([0.0, 0.0, 0.0, 2.0]);
        cases.push((e, "norm"));
        let mut e = good.clone();
        e.attempt = u64::MAX;
        cases.push((e, "i64::MAX"));
        for (ep, expect) in cases {
            let msg = w.add_episode(&ep).unwrap_err().to_string();
            assert!(msg.contains(expect), "expected '{expect}' in: {msg}");
        }
        assert_eq!((w.episodes(), w.total_samples()), (1, 5));
        assert_eq!(w.add_episode(&good).unwrap(), 1);
        let (train, valid) = w.split();
        assert_eq!(
            (train, valid),
            (vec!["demo_0".to_string()], vec!["demo_1".to_string()])
        );
    }

    #[test]
    fn invalid_config_is_refused_by_the_writer() {
        let c = GenerationConfig {
            valid_fraction: 2.0,
            ..Default::default()
        };
        assert!(matches!(
            DatasetWriter::new(&c),
            Err(ExportError::Config(_))
        ));
    }
}

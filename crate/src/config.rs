//! The typed generation configuration: everything that decides a dataset's bytes.
//!
//! A [`GenerationConfig`] is plain serde data. Every field has a default, so an
//! old or minimal configuration (`{}` or `{"task": "stack"}`) keeps loading, and
//! unknown keys are errors (a typo never silently falls back to a default).
//! [`GenerationConfig::from_json`] parses *and* validates; [`GenerationConfig::validate`]
//! returns the first problem as a [`ConfigError`] naming the field.
//!
//! [`GenerationConfig::to_canonical_json`] is the one serialisation used wherever the
//! configuration is stored or hashed (the HDF5 attributes `dmgen_config` and
//! `env_args.env_kwargs`, share links): object keys sorted by byte order, no
//! whitespace, numbers in serde_json's shortest round-trip form. The same
//! configuration therefore gives the same string on every platform.
//!
//! Example (every key optional):
//! ```json
//! {"task": "stack", "variant": "dmg", "method": "dmg", "episodes": 100, "seed": 7,
//!  "dynamics": {"speed_mps": 0.05, "probability": 0.5, "belt_speed_mps": 0.04},
//!  "dmp": {"bases": 100, "alpha": 25.0, "goal_filter_alpha": 10.0, "scaling": "robust"},
//!  "assists": {"in_hand_correction": true, "settle_steps": 30, "goal_feedforward": true,
//!              "action_noise": 0.0},
//!  "demo": {"kind": "builtin", "id": "stack"}}
//! ```

use crate::demo::Demo;
pub use crate::task::{Geometry, ResetLevel};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Largest number of kept episodes one configuration may ask for.
pub const MAX_EPISODES: u32 = 1_000_000;

/// Problems with a configuration, each naming the field and what would be accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// The text is not valid JSON, has an unknown key, or a value of the wrong type.
    Parse {
        message: String,
        line: usize,
        column: usize,
    },
    /// A field parsed but its value is out of range or inconsistent.
    Invalid { field: String, message: String },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Parse {
                message,
                line,
                column,
            } => write!(
                f,
                "configuration is not valid (line {line}, column {column}): {message}"
            ),
            ConfigError::Invalid { field, message } => {
                write!(f, "configuration field '{field}': {message}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

fn invalid(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Which scene dynamics the generated episodes see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Objects stay where the reset put them.
    Static,
    /// D-MG's dynamic setting: in a fraction of the episodes the picked object slides
    /// during the first part of its pick subtask.
    #[default]
    Dmg,
    /// The target (place) object moves while the robot approaches it.
    MovingTarget,
    /// Objects are pushed by an external body during execution.
    Push,
}

impl Variant {
    /// The serialised name (`static`, `dmg`, `moving_target`, `push`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Variant::Static => "static",
            Variant::Dmg => "dmg",
            Variant::MovingTarget => "moving_target",
            Variant::Push => "push",
        }
    }
}

/// Which generator produces the trajectories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Method {
    /// DynaMimicGen: DMP rollouts with live goal re-targeting.
    #[default]
    #[serde(rename = "dmg")]
    Dmg,
    /// The MimicGen baseline: rigid segment transform, read once per subtask.
    #[serde(rename = "mimicgen")]
    MimicGen,
}

impl Method {
    /// The serialised name (`dmg`, `mimicgen`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Dmg => "dmg",
            Method::MimicGen => "mimicgen",
        }
    }
}

/// How moving objects move. The task side turns this into a per-episode plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DynamicsParams {
    /// Object speed while driven, m/s (D-MG: 2.5 mm per 20 Hz step = 0.05 m/s). Range [0, 1].
    pub speed_mps: f64,
    /// Probability that an episode is dynamic at all. Range [0, 1].
    pub probability: f64,
    /// World axes the motion may follow (one is drawn per episode, with a random sign):
    /// any non-empty subset of `"x"`, `"y"`, `"z"` without repeats.
    pub axes: Vec<String>,
    /// Fraction of the affected subtask during which the object moves, in (0, 1]
    /// (D-MG: the first half of the pick subtask).
    pub active_fraction: f64,
    /// Speed of the conveyor belt's surface in the `conveyor` task, m/s (the demo was
    /// recorded at 0.04). Range [0, 0.2]; other tasks have no belt and ignore it.
    pub belt_speed_mps: f64,
}

impl Default for DynamicsParams {
    fn default() -> Self {
        DynamicsParams {
            speed_mps: 0.05,
            probability: 0.5,
            axes: vec!["x".into(), "y".into()],
            active_fraction: 0.5,
            belt_speed_mps: crate::task::BELT_SPEED,
        }
    }
}

/// How the DMP forcing term follows a new goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DmpScaling {
    /// Rotate and scale by the map from the demo's (g - y0) to the new one.
    #[default]
    Robust,
    /// Textbook per-axis diag(g - y0) (Ijspeert et al. 2013).
    Axis,
    /// Frozen at the demo's value (what D-MG's code does).
    Fixed,
}

/// Dynamic Movement Primitive parameters (see the method notes, section 2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DmpParams {
    /// Number of Gaussian basis functions, 2..=1000 (D-MG: 100).
    pub bases: u32,
    /// Transformation-system gain alpha; beta = alpha / 4. Range (0, 1000] (D-MG: 25).
    pub alpha: f64,
    /// Goal filter gain alpha_g in tau*dg = alpha_g*(g_target - g), discretised exactly
    /// (the goal covers `1 - exp(-dt alpha_g / tau)` of the way to its target per step);
    /// 0 disables the filter: the goal equals its live target every step, as in D-MG.
    /// Range [0, 1000].
    pub goal_filter_alpha: f64,
    /// Forcing-term scaling.
    pub scaling: DmpScaling,
}

impl Default for DmpParams {
    fn default() -> Self {
        DmpParams {
            bases: 100,
            alpha: 25.0,
            goal_filter_alpha: 10.0,
            scaling: DmpScaling::Robust,
        }
    }
}

/// Hand corrections to the automatic segmentation.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentationOverride {
    /// Sample indices where a new subtask starts, strictly increasing, all > 0
    /// (`n` boundaries make `n + 1` subtasks). Empty keeps the automatic boundaries.
    pub boundaries: Vec<usize>,
    /// Reference object per subtask (`null` = keep the automatic choice). Empty, or one
    /// entry per subtask.
    pub objects: Vec<Option<String>>,
}

/// Which demonstration the run starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DemoRef {
    /// A demonstration shipped with the playground, by id (e.g. `"stack"`).
    Builtin { id: String },
    /// The demonstration itself, inline (makes the configuration self-contained).
    Embedded { demo: Box<Demo> },
    /// A demonstration supplied separately (an upload), pinned by the lowercase hex
    /// SHA-256 of its file bytes.
    Sha256 {
        sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Which demo of a multi-demo (HDF5) file, in the file's `demo_<i>` order (0, the
        /// first, is left out of the JSON).
        #[serde(default, skip_serializing_if = "is_zero")]
        index: u32,
    },
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Default for DemoRef {
    fn default() -> Self {
        DemoRef::Builtin { id: "stack".into() }
    }
}

/// MimicGen baseline parameters (see the method notes, section 5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MimicGenParams {
    /// Interpolation steps bridging the current pose to each transformed segment, 0..=200.
    pub bridge_steps: u32,
    /// Moved to [`Assists::action_noise`] (it applies to both methods); a configuration
    /// that still sets it is refused with a message saying so. Links of version 1 are
    /// migrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_noise: Option<f64>,
}

impl Default for MimicGenParams {
    fn default() -> Self {
        MimicGenParams {
            bridge_steps: 5,
            action_noise: None,
        }
    }
}

/// What a dataset's `actions` hold (the other kind is written under its own key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionConvention {
    /// robomimic / MimicGen: normalised delta-pose actions in `actions`, absolute targets in
    /// `actions_abs` (the default).
    #[default]
    Delta,
    /// Diffusion Policy's `*_abs.hdf5`: absolute actions (position, continuous rotation
    /// vector, gripper) in `actions`, the delta actions in `actions_delta`.
    Abs,
}

impl ActionConvention {
    pub fn as_str(&self) -> &'static str {
        match self {
            ActionConvention::Delta => "delta",
            ActionConvention::Abs => "abs",
        }
    }
}

fn is_delta(a: &ActionConvention) -> bool {
    *a == ActionConvention::Delta
}

/// Help given to the generator that is not part of either method as its paper describes
/// it. Each switch applies to every method that can use it, so a comparison of D-MG and
/// MimicGen gives both the same help; `dmgen bench results` prints an ablation of each.
///
/// Defaults: everything that only uses what a data generator can observe and that helps
/// both methods is on (in-hand correction, settling); the feed-forward of moving goals
/// is on (D-MG's live goals can use it, MimicGen's frozen ones cannot); action noise is
/// off, because it only removes successes during generation (MimicGen's paper uses
/// 0.05 to diversify its data; set it for both to reproduce that).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Assists {
    /// Place goals are corrected for how the held object actually sits in the hand: the
    /// hand is sent where it puts the *object* where the demo put it (object pose in the
    /// hand measured when the place subtask starts and, for D-MG, at every step). Both
    /// methods. Default on.
    pub in_hand_correction: bool,
    /// At the end of each subtask, wait up to this many control steps (holding the
    /// subtask's final target) until the measured hand pose is within 3 mm and 0.03 rad
    /// of it, so the gripper closes or opens where the subtask ended. Both methods,
    /// 0..=200, 0 = off. Default 30 (1.5 s).
    pub settle_steps: u32,
    /// Lead the goal of a moving reference object by its velocity times the DMP's lag,
    /// at most 5 cm, so the hand does not trail an object on a belt. D-MG only (MimicGen
    /// reads the object once per subtask). Default on.
    pub goal_feedforward: bool,
    /// Std of the Gaussian noise added to every normalised delta-pose action (0.05 m and
    /// 0.5 rad per unit), [0, 1]. Both methods. Default 0 (MimicGen's paper: 0.05).
    pub action_noise: f64,
}

impl Default for Assists {
    fn default() -> Self {
        Assists {
            in_hand_correction: true,
            settle_steps: 30,
            goal_feedforward: true,
            action_noise: 0.0,
        }
    }
}

/// The action noise of MimicGen's paper (std of the normalised delta-pose actions), and
/// the default of `mimicgen.action_noise` in link format 1.
pub const MIMICGEN_PAPER_ACTION_NOISE: f64 = 0.05;

impl Assists {
    /// No help at all: each method as its paper describes it (add `action_noise: 0.05`
    /// for MimicGen's).
    pub fn none() -> Assists {
        Assists {
            in_hand_correction: false,
            settle_steps: 0,
            goal_feedforward: false,
            action_noise: 0.0,
        }
    }

    /// The switches that were on, as a short label (`"none"` when none was).
    pub fn label(&self) -> String {
        let mut on = Vec::new();
        if self.in_hand_correction {
            on.push("in-hand".to_string());
        }
        if self.settle_steps > 0 {
            on.push(format!("settle {}", self.settle_steps));
        }
        if self.goal_feedforward {
            on.push("feed-forward".to_string());
        }
        if self.action_noise > 0.0 {
            on.push(format!("noise {}", self.action_noise));
        }
        if on.is_empty() {
            "none".into()
        } else {
            on.join(", ")
        }
    }
}

/// Everything that determines a generated dataset. Defaults are listed per field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerationConfig {
    /// Task id, lowercase `[a-z0-9_]`, e.g. `stack` (default): a built-in task, or the id
    /// of `custom_task`.
    pub task: String,
    /// A task that is not built in: the whole task file (docs/tasks.md), so that the
    /// configuration, its share link and the datasets it writes carry it (default none,
    /// left out of the canonical JSON). Its `id` is `task`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::task::deserialize_custom_task"
    )]
    pub custom_task: Option<Box<crate::task::Task>>,
    /// Scene dynamics (default `dmg`).
    pub variant: Variant,
    /// Moving-object parameters (used by the dynamic variants).
    pub dynamics: DynamicsParams,
    /// Generator (default `dmg`).
    pub method: Method,
    /// Successful episodes to keep, 1..=[`MAX_EPISODES`] (default 10).
    pub episodes: u32,
    /// Attempt budget; `None` (default) means [`GenerationConfig::attempt_budget`]'s rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Master seed (default 0); episode `i` uses `rng::episode_seed(seed, i)`.
    pub seed: u64,
    /// DMP parameters.
    pub dmp: DmpParams,
    /// Segmentation corrections (default none).
    pub segmentation: SegmentationOverride,
    /// Source demonstration (default the built-in `stack` demo).
    pub demo: DemoRef,
    /// MimicGen baseline parameters.
    pub mimicgen: MimicGenParams,
    /// Help for the generator beyond the methods themselves (both methods alike).
    pub assists: Assists,
    /// Fraction of kept episodes listed in `mask/valid`, [0, 0.5] (default 0.1).
    pub valid_fraction: f64,
    /// What the dataset's `actions` hold (default `delta`; left out of the canonical JSON
    /// when it is the default, so configurations made before it keep their text).
    #[serde(skip_serializing_if = "is_delta")]
    pub actions: ActionConvention,
    /// Camera images recorded with every kept episode (default none; left out of the
    /// canonical JSON then, so low-dim configurations keep their text).
    #[serde(skip_serializing_if = "CameraSettings::is_off")]
    pub cameras: CameraSettings,
    /// How widely the objects are spread at reset: MimicGen's levels `d0` (default, the
    /// task's own ranges; left out of the canonical JSON then), `d1`, `d2`.
    #[serde(skip_serializing_if = "ResetLevel::is_d0")]
    pub reset: ResetLevel,
    /// Object sizes: `playground` (default, left out of the canonical JSON) or `robosuite`
    /// (robosuite's cubes, nut and peg, for demos recorded there).
    #[serde(skip_serializing_if = "Geometry::is_playground")]
    pub geometry: Geometry,
    /// The demo's object names -> the task's, for demos recorded elsewhere (default empty,
    /// left out of the canonical JSON). MimicGen's own names need no entry
    /// (the task file's `aliases`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub object_map: BTreeMap<String, String>,
    /// Where the demo's world puts the robot and the table (default `auto`, left out of the
    /// canonical JSON): see [`DemoFrame`].
    #[serde(skip_serializing_if = "DemoFrame::is_auto")]
    pub demo_frame: DemoFrame,
}

/// How a demo's world maps onto the scene (robot base at the origin facing +x, table top
/// at z = 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DemoFrame {
    /// The table height is recognised (robosuite's 0.8 m, else the lowest object at the
    /// start), and the objects' starting centroid moves to the workspace centre; no
    /// rotation (the default).
    #[default]
    Auto,
    /// robosuite's table-top arenas (MimicGen's datasets): the Panda's base 0.56 m behind
    /// the table centre (the world origin) facing +x, the table top at 0.8 m (0.82 m for
    /// Square).
    Robosuite,
    /// A rigid transform: the demo's robot base `base` (x, y, m) and heading `yaw` (rad,
    /// about z) in its own world land on the scene's base, and its table height `table_z`
    /// on the scene's table. Positions and orientations turn alike.
    Rigid {
        base: [f64; 2],
        #[serde(default)]
        yaw: f64,
        table_z: f64,
    },
}

impl DemoFrame {
    pub fn is_auto(&self) -> bool {
        *self == DemoFrame::Auto
    }
}

/// Cameras whose images a dataset carries as `obs/<camera>_image` (robomimic's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraSettings {
    /// Camera names, from [`CAMERA_NAMES`], each at most once (default none).
    pub names: Vec<String>,
    /// Image width and height in pixels, 8..=[`MAX_CAMERA_SIDE`] (default 84, robomimic's).
    pub width: u32,
    pub height: u32,
    /// Also record `obs/<camera>_depth` (T, H, W, 1) float32 metres (default off).
    pub depth: bool,
    /// Also write the images under `next_obs` (default on; off is robomimic's
    /// `--exclude-next-obs`).
    pub next_obs: bool,
}

/// The cameras the renderer knows (`crate::camera`).
pub const CAMERA_NAMES: [&str; 2] = ["agentview", "robot0_eye_in_hand"];
/// Largest camera image side a configuration may ask for.
pub const MAX_CAMERA_SIDE: u32 = 256;

impl Default for CameraSettings {
    fn default() -> Self {
        CameraSettings {
            names: Vec::new(),
            width: 84,
            height: 84,
            depth: false,
            next_obs: true,
        }
    }
}

impl CameraSettings {
    /// No camera is recorded.
    pub fn is_off(&self) -> bool {
        self.names.is_empty()
    }

    /// Parse a comma-separated list such as `agentview,robot0_eye_in_hand` (the CLI's
    /// `--cameras`); an empty string or `none` turns cameras off.
    pub fn set_names_from_list(&mut self, list: &str) {
        self.names = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "none")
            .map(str::to_string)
            .collect();
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (i, n) in self.names.iter().enumerate() {
            if !CAMERA_NAMES.contains(&n.as_str()) {
                return Err(invalid(
                    "cameras.names",
                    format!("'{n}' is not a camera; use {}", CAMERA_NAMES.join(" or ")),
                ));
            }
            if self.names[..i].contains(n) {
                return Err(invalid("cameras.names", format!("'{n}' is listed twice")));
            }
        }
        for (field, v) in [
            ("cameras.width", self.width),
            ("cameras.height", self.height),
        ] {
            if !(8..=MAX_CAMERA_SIDE).contains(&v) {
                return Err(invalid(
                    field,
                    format!("{v} is out of range; expected 8..={MAX_CAMERA_SIDE} pixels"),
                ));
            }
        }
        Ok(())
    }
}

impl Default for GenerationConfig {
    fn default() -> Self {
        GenerationConfig {
            task: "stack".into(),
            custom_task: None,
            variant: Variant::default(),
            dynamics: DynamicsParams::default(),
            method: Method::default(),
            episodes: 10,
            max_attempts: None,
            seed: 0,
            dmp: DmpParams::default(),
            segmentation: SegmentationOverride::default(),
            demo: DemoRef::default(),
            mimicgen: MimicGenParams::default(),
            assists: Assists::default(),
            valid_fraction: 0.1,
            actions: ActionConvention::Delta,
            cameras: CameraSettings::default(),
            reset: ResetLevel::D0,
            geometry: Geometry::Playground,
            object_map: BTreeMap::new(),
            demo_frame: DemoFrame::Auto,
        }
    }
}

fn check_range(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), ConfigError> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(invalid(
            field,
            format!("{v} is out of range; expected a number in [{lo}, {hi}]"),
        ));
    }
    Ok(())
}

/// Whether `s` is an id: 1-64 characters from a-z, 0-9 and _ (tasks, demos).
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl GenerationConfig {
    /// Parse JSON text and validate it.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: GenerationConfig = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Ask for `n` episodes; a `max_attempts` below `n` is dropped (the default budget
    /// applies), as every face's `--episodes`/`episodes=` override does.
    pub fn set_episodes(&mut self, n: u32) {
        self.episodes = n;
        if self.max_attempts.is_some_and(|m| m < n) {
            self.max_attempts = None;
        }
    }

    /// The attempt budget: `max_attempts`, or `max(3 * episodes, episodes + 20)`.
    pub fn attempt_budget(&self) -> u64 {
        match self.max_attempts {
            Some(n) => u64::from(n),
            None => {
                let e = u64::from(self.episodes);
                (3 * e).max(e + 20)
            }
        }
    }

    /// The task this configuration generates in: its reset level, belt speed and geometry.
    pub fn build_task(&self) -> Result<crate::task::Task, crate::task::TaskError> {
        Ok(self
            .base_task()?
            .with_belt_speed(self.dynamics.belt_speed_mps)
            .with_reset_level(self.reset)?
            .with_geometry(self.geometry))
    }

    /// The task as its file describes it (before the reset level, belt speed and geometry
    /// apply): `custom_task`, else the built-in task `task`.
    pub fn base_task(&self) -> Result<crate::task::Task, crate::task::TaskError> {
        match &self.custom_task {
            Some(t) => Ok((**t).clone()),
            None => crate::task::Task::by_id(&self.task),
        }
    }

    /// Use task `t`: a built-in task's file as it is, by id; any other as `custom_task`
    /// (so a built-in task read from its file gives the same configuration, and the same
    /// bytes, as its id).
    pub fn set_task(&mut self, t: crate::task::Task) {
        self.task = t.id.clone();
        self.custom_task = match crate::task::Task::by_id(&t.id) {
            Ok(b) if b == t => None,
            _ => Some(Box::new(t)),
        };
    }

    /// Check every value; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_identifier(&self.task) {
            return Err(invalid(
                "task",
                format!(
                    "'{}' is not a task id; use 1-64 characters from a-z, 0-9 and _ (e.g. 'stack')",
                    self.task
                ),
            ));
        }
        let d = &self.dynamics;
        check_range("dynamics.speed_mps", d.speed_mps, 0.0, 1.0)?;
        check_range("dynamics.probability", d.probability, 0.0, 1.0)?;
        check_range("dynamics.belt_speed_mps", d.belt_speed_mps, 0.0, 0.2)?;
        check_range("dynamics.active_fraction", d.active_fraction, 0.0, 1.0)?;
        if d.active_fraction <= 0.0 {
            return Err(invalid(
                "dynamics.active_fraction",
                "must be greater than 0 (use probability 0 to disable motion)",
            ));
        }
        if d.axes.is_empty() {
            return Err(invalid(
                "dynamics.axes",
                "needs at least one of \"x\", \"y\", \"z\"",
            ));
        }
        for (i, a) in d.axes.iter().enumerate() {
            if !matches!(a.as_str(), "x" | "y" | "z") {
                return Err(invalid(
                    "dynamics.axes",
                    format!("'{a}' is not an axis; use \"x\", \"y\" or \"z\""),
                ));
            }
            if d.axes[..i].contains(a) {
                return Err(invalid("dynamics.axes", format!("'{a}' is listed twice")));
            }
        }
        if self.episodes == 0 || self.episodes > MAX_EPISODES {
            return Err(invalid(
                "episodes",
                format!(
                    "{} is out of range; expected 1..={MAX_EPISODES}",
                    self.episodes
                ),
            ));
        }
        if let Some(m) = self.max_attempts {
            if m < self.episodes {
                return Err(invalid(
                    "max_attempts",
                    format!(
                        "{m} is smaller than episodes ({}); raise it or remove it to use the default budget",
                        self.episodes
                    ),
                ));
            }
        }
        self.cameras.validate()?;
        if let Some(t) = &self.custom_task {
            if t.id != self.task {
                return Err(invalid(
                    "custom_task.id",
                    format!(
                        "'{}' is not the configuration's task '{}'; they must be the same",
                        t.id, self.task
                    ),
                ));
            }
            t.validate()
                .map_err(|e| invalid("custom_task", e.to_string()))?;
        }
        if let Ok(task) = self.base_task() {
            let names = task.object_names();
            task.with_reset_level(self.reset)
                .map_err(|e| invalid("reset", e.to_string()))?;
            let mut targets: Vec<&str> = Vec::new();
            for (from, to) in &self.object_map {
                if from.trim().is_empty() || from.len() > 256 {
                    return Err(invalid(
                        "object_map",
                        "a demo object name must be 1-256 characters",
                    ));
                }
                if !names.iter().any(|n| n == to) {
                    return Err(invalid(
                        "object_map",
                        format!(
                            "'{from}' maps to '{to}', which is not an object of task '{}' (its objects: {})",
                            self.task,
                            names.join(", ")
                        ),
                    ));
                }
                if targets.contains(&to.as_str()) {
                    return Err(invalid(
                        "object_map",
                        format!("two demo objects map to '{to}'"),
                    ));
                }
                targets.push(to);
            }
        }
        if let DemoFrame::Rigid { base, yaw, table_z } = &self.demo_frame {
            for (i, v) in base.iter().enumerate() {
                check_range(&format!("demo_frame.base[{i}]"), *v, -100.0, 100.0)?;
            }
            check_range("demo_frame.yaw", *yaw, -10.0, 10.0)?;
            check_range("demo_frame.table_z", *table_z, -100.0, 100.0)?;
        }
        let p = &self.dmp;
        if p.bases < 2 || p.bases > 1000 {
            return Err(invalid(
                "dmp.bases",
                format!("{} is out of range; expected 2..=1000", p.bases),
            ));
        }
        check_range("dmp.alpha", p.alpha, 0.0, 1000.0)?;
        if p.alpha <= 0.0 {
            return Err(invalid("dmp.alpha", "must be greater than 0"));
        }
        check_range("dmp.goal_filter_alpha", p.goal_filter_alpha, 0.0, 1000.0)?;
        if self.mimicgen.action_noise.is_some() {
            return Err(invalid(
                "mimicgen.action_noise",
                "has moved to assists.action_noise, which applies to both methods; set it there (MimicGen's paper uses 0.05)",
            ));
        }
        let a = &self.assists;
        check_range("assists.action_noise", a.action_noise, 0.0, 1.0)?;
        if a.settle_steps > 200 {
            return Err(invalid(
                "assists.settle_steps",
                format!("{} is out of range; expected 0..=200", a.settle_steps),
            ));
        }
        let s = &self.segmentation;
        if s.boundaries.first() == Some(&0) {
            return Err(invalid(
                "segmentation.boundaries",
                "a boundary at sample 0 would make an empty first subtask",
            ));
        }
        if s.boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid(
                "segmentation.boundaries",
                "boundaries must be strictly increasing",
            ));
        }
        if !s.objects.is_empty()
            && !s.boundaries.is_empty()
            && s.objects.len() != s.boundaries.len() + 1
        {
            return Err(invalid(
                "segmentation.objects",
                format!(
                    "{} boundaries make {} subtasks but {} objects are given; give one per subtask (null keeps the automatic choice)",
                    s.boundaries.len(),
                    s.boundaries.len() + 1,
                    s.objects.len()
                ),
            ));
        }
        for name in s.objects.iter().flatten() {
            if name.is_empty() {
                return Err(invalid(
                    "segmentation.objects",
                    "object names must not be empty (use null to keep the automatic choice)",
                ));
            }
        }
        match &self.demo {
            DemoRef::Builtin { id } => {
                if !is_identifier(id) {
                    return Err(invalid(
                        "demo.id",
                        format!("'{id}' is not a built-in demo id (a-z, 0-9 and _)"),
                    ));
                }
            }
            DemoRef::Embedded { demo } => {
                if demo.t.len() < 2 {
                    return Err(invalid(
                        "demo.demo",
                        "an embedded demonstration needs at least 2 samples",
                    ));
                }
                let n = demo.t.len();
                if demo.eef.len() != n
                    || demo.gripper.len() != n
                    || demo.objects.iter().any(|o| o.poses.len() != n)
                {
                    return Err(invalid(
                        "demo.demo",
                        format!("every series of the embedded demonstration must have {n} samples (the length of t)"),
                    ));
                }
            }
            DemoRef::Sha256 { sha256, name, .. } => {
                // The name is shown to whoever opens a share link: keep it plain text.
                if let Some(n) = name {
                    let bidi =
                        |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
                    if n.is_empty() || n.len() > 255 || n.chars().any(|c| c.is_control() || bidi(c))
                    {
                        return Err(invalid(
                            "demo.name",
                            "a file name of 1-255 bytes without control or text-direction characters",
                        ));
                    }
                }
                if sha256.len() != 64
                    || !sha256
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(invalid(
                        "demo.sha256",
                        "expected 64 lowercase hexadecimal characters (the SHA-256 of the demo file)",
                    ));
                }
            }
        }
        if self.mimicgen.bridge_steps > 200 {
            return Err(invalid(
                "mimicgen.bridge_steps",
                format!(
                    "{} is out of range; expected 0..=200",
                    self.mimicgen.bridge_steps
                ),
            ));
        }
        check_range("valid_fraction", self.valid_fraction, 0.0, 0.5)?;
        Ok(())
    }

    /// The configuration as a JSON value (field names as in the file format).
    pub fn to_json_value(&self) -> Result<serde_json::Value, ConfigError> {
        serde_json::to_value(self).map_err(|e| invalid("(all)", e.to_string()))
    }

    /// Canonical JSON: sorted keys, no whitespace. Fails only on non-finite numbers
    /// (which [`validate`](Self::validate) rejects).
    pub fn to_canonical_json(&self) -> Result<String, ConfigError> {
        Ok(canonical_json(&self.to_json_value()?))
    }

    /// Lowercase hex SHA-256 of [`to_canonical_json`](Self::to_canonical_json).
    pub fn digest(&self) -> Result<String, ConfigError> {
        Ok(sha256_hex(self.to_canonical_json()?.as_bytes()))
    }
}

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Serialise a JSON value with object keys sorted by byte order and no whitespace,
/// whatever map implementation serde_json was built with.
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // A string always serialises.
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_field(r: Result<GenerationConfig, ConfigError>) -> String {
        match r {
            Err(ConfigError::Invalid { field, .. }) => field,
            Err(ConfigError::Parse { message, .. }) => format!("parse: {message}"),
            Ok(_) => "accepted".into(),
        }
    }

    #[test]
    fn empty_object_gives_documented_defaults() {
        let c = GenerationConfig::from_json("{}").unwrap();
        assert_eq!(c, GenerationConfig::default());
        assert_eq!(c.task, "stack");
        assert_eq!(c.seed, 0);
        assert_eq!(c.dynamics.speed_mps, 0.05);
        assert_eq!(c.mimicgen.bridge_steps, 5);
        assert_eq!(c.attempt_budget(), 30);
    }

    #[test]
    fn attempt_budget_rule() {
        let mut c = GenerationConfig {
            episodes: 100,
            ..Default::default()
        };
        assert_eq!(c.attempt_budget(), 300);
        c.episodes = 2;
        assert_eq!(c.attempt_budget(), 22);
        c.max_attempts = Some(5);
        assert_eq!(c.attempt_budget(), 5);
    }

    #[test]
    fn reset_levels_follow_the_task() {
        let mut c = GenerationConfig {
            task: "lift".into(),
            reset: ResetLevel::D1,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("reset") && e.contains("lift") && e.contains("d0"),
            "{e}"
        );
        c.task = "stack".into();
        c.validate().unwrap();
        let text = c.to_canonical_json().unwrap();
        assert!(text.contains(r#""reset":"d1""#), "{text}");
        assert_eq!(
            GenerationConfig::from_json(&text).unwrap().reset,
            ResetLevel::D1
        );
        // At the default level the field is left out, so older configurations keep their text.
        c.reset = ResetLevel::D0;
        assert!(!c.to_canonical_json().unwrap().contains("reset"));
        assert!(GenerationConfig::from_json(r#"{"task":"stack","reset":"d7"}"#).is_err());
    }

    #[test]
    fn json_roundtrip_every_field() {
        let mut square = crate::task::Task::by_id("square").unwrap();
        square.description = "Square with a longer hold".into();
        square.hold_time = 0.5;
        let c = GenerationConfig {
            task: "square".into(),
            custom_task: Some(Box::new(square)),
            variant: Variant::MovingTarget,
            dynamics: DynamicsParams {
                speed_mps: 0.1,
                probability: 1.0,
                axes: vec!["y".into()],
                active_fraction: 0.25,
                belt_speed_mps: 0.07,
            },
            method: Method::MimicGen,
            episodes: 50,
            max_attempts: Some(400),
            seed: u64::MAX,
            dmp: DmpParams {
                bases: 30,
                alpha: 48.0,
                goal_filter_alpha: 0.0,
                scaling: DmpScaling::Fixed,
            },
            segmentation: SegmentationOverride {
                boundaries: vec![40, 90],
                objects: vec![Some("nut".into()), None, Some("peg".into())],
            },
            demo: DemoRef::Sha256 {
                sha256: "ab".repeat(32),
                name: Some("my_demo.hdf5".into()),
                index: 0,
            },
            mimicgen: MimicGenParams {
                bridge_steps: 10,
                action_noise: None,
            },
            assists: Assists {
                in_hand_correction: false,
                settle_steps: 12,
                goal_feedforward: false,
                action_noise: 0.25,
            },
            valid_fraction: 0.2,
            actions: ActionConvention::Abs,
            cameras: CameraSettings {
                names: vec!["robot0_eye_in_hand".into(), "agentview".into()],
                width: 128,
                height: 96,
                depth: true,
                next_obs: false,
            },
            reset: ResetLevel::D2,
            geometry: Geometry::Robosuite,
            object_map: [("square_nut_0".to_string(), "nut".to_string())].into(),
            demo_frame: DemoFrame::Rigid {
                base: [-0.56, 0.1],
                yaw: 0.3,
                table_z: 0.82,
            },
        };
        c.validate().unwrap();
        let text = c.to_canonical_json().unwrap();
        let back = GenerationConfig::from_json(&text).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.to_canonical_json().unwrap(), text);
        // Pretty or compact, the canonical form does not change.
        let pretty = serde_json::to_string_pretty(&c).unwrap();
        assert_eq!(
            GenerationConfig::from_json(&pretty)
                .unwrap()
                .to_canonical_json()
                .unwrap(),
            text
        );
    }

    #[test]
    fn canonical_json_sorts_keys_and_has_no_whitespace() {
        let text = GenerationConfig::default().to_canonical_json().unwrap();
        assert!(!text.contains(' ') && !text.contains('\n'));
        let first_keys: Vec<usize> = [
            "\"assists\"",
            "\"demo\"",
            "\"dmp\"",
            "\"dynamics\"",
            "\"episodes\"",
            "\"method\"",
            "\"mimicgen\"",
            "\"seed\"",
            "\"segmentation\"",
            "\"task\"",
            "\"valid_fraction\"",
            "\"variant\"",
        ]
        .iter()
        .map(|k| {
            text.find(k)
                .unwrap_or_else(|| panic!("{k} missing in {text}"))
        })
        .collect();
        assert!(first_keys.windows(2).all(|w| w[0] < w[1]), "{text}");
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":0,"y":1}],"c":2}}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":2,"d":[1,{"y":1,"z":0}]},"b":1}"#
        );
    }

    #[test]
    fn digest_changes_with_seed_only_when_seed_changes() {
        let a = GenerationConfig::default();
        let b = GenerationConfig::from_json(r#"{"seed": 0, "task": "stack"}"#).unwrap();
        let c = GenerationConfig::from_json(r#"{"seed": 1}"#).unwrap();
        assert_eq!(a.digest().unwrap(), b.digest().unwrap());
        assert_ne!(a.digest().unwrap(), c.digest().unwrap());
        assert_eq!(a.digest().unwrap().len(), 64);
    }

    #[test]
    fn unknown_keys_are_rejected_at_every_level() {
        for text in [
            r#"{"episdoes": 10}"#,
            r#"{"dmp": {"basis": 10}}"#,
            r#"{"dynamics": {"speed": 0.1}}"#,
            r#"{"mimicgen": {"noise": 0.1}}"#,
            r#"{"segmentation": {"bounds": [3]}}"#,
            r#"{"demo": {"kind": "builtin", "id": "stack", "extra": 1}}"#,
        ] {
            let e = GenerationConfig::from_json(text).unwrap_err();
            assert!(
                matches!(&e, ConfigError::Parse { message, .. } if message.contains("unknown field")),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn bad_enum_values_and_types_are_rejected() {
        assert!(
            err_field(GenerationConfig::from_json(r#"{"variant": "fast"}"#)).starts_with("parse")
        );
        assert!(
            err_field(GenerationConfig::from_json(r#"{"method": "DMG"}"#)).starts_with("parse")
        );
        assert!(err_field(GenerationConfig::from_json(r#"{"episodes": -1}"#)).starts_with("parse"));
        assert!(err_field(GenerationConfig::from_json(
            r#"{"dmp": {"scaling": "log"}}"#
        ))
        .starts_with("parse"));
        assert!(err_field(GenerationConfig::from_json(
            r#"{"demo": {"kind": "url", "id": "x"}}"#
        ))
        .starts_with("parse"));
        assert!(err_field(GenerationConfig::from_json("{")).starts_with("parse"));
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let cases = [
            (r#"{"task": "Stack!"}"#, "task"),
            (r#"{"task": ""}"#, "task"),
            (r#"{"episodes": 0}"#, "episodes"),
            (r#"{"episodes": 10, "max_attempts": 9}"#, "max_attempts"),
            (r#"{"dynamics": {"speed_mps": -0.1}}"#, "dynamics.speed_mps"),
            (
                r#"{"dynamics": {"probability": 1.5}}"#,
                "dynamics.probability",
            ),
            (r#"{"dynamics": {"axes": []}}"#, "dynamics.axes"),
            (r#"{"dynamics": {"axes": ["x", "x"]}}"#, "dynamics.axes"),
            (r#"{"dynamics": {"axes": ["w"]}}"#, "dynamics.axes"),
            (
                r#"{"dynamics": {"active_fraction": 0}}"#,
                "dynamics.active_fraction",
            ),
            (r#"{"dmp": {"bases": 1}}"#, "dmp.bases"),
            (r#"{"dmp": {"alpha": 0}}"#, "dmp.alpha"),
            (
                r#"{"dmp": {"goal_filter_alpha": -1}}"#,
                "dmp.goal_filter_alpha",
            ),
            (
                r#"{"segmentation": {"boundaries": [0, 5]}}"#,
                "segmentation.boundaries",
            ),
            (
                r#"{"segmentation": {"boundaries": [9, 5]}}"#,
                "segmentation.boundaries",
            ),
            (
                r#"{"segmentation": {"boundaries": [5], "objects": ["a"]}}"#,
                "segmentation.objects",
            ),
            (
                r#"{"demo": {"kind": "sha256", "sha256": "xyz"}}"#,
                "demo.sha256",
            ),
            (r#"{"demo": {"kind": "builtin", "id": ""}}"#, "demo.id"),
            (
                r#"{"demo": {"kind": "sha256", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "name": "a\u202egpj.exe"}}"#,
                "demo.name",
            ),
            (
                r#"{"demo": {"kind": "sha256", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "name": "a\nb"}}"#,
                "demo.name",
            ),
            (
                r#"{"mimicgen": {"action_noise": 0.05}}"#,
                "mimicgen.action_noise",
            ),
            (
                r#"{"assists": {"action_noise": 2}}"#,
                "assists.action_noise",
            ),
            (
                r#"{"assists": {"settle_steps": 201}}"#,
                "assists.settle_steps",
            ),
            (
                r#"{"mimicgen": {"bridge_steps": 500}}"#,
                "mimicgen.bridge_steps",
            ),
            (r#"{"valid_fraction": 0.9}"#, "valid_fraction"),
        ];
        for (text, field) in cases {
            assert_eq!(
                err_field(GenerationConfig::from_json(text)),
                field,
                "{text}"
            );
        }
        // The message is something a person can act on.
        let msg = GenerationConfig::from_json(r#"{"episodes": 10, "max_attempts": 9}"#)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("max_attempts") && msg.contains("smaller than episodes"),
            "{msg}"
        );
    }

    #[test]
    fn embedded_demo_roundtrips_and_is_checked() {
        use crate::demo::{Demo, ObjectTrack};
        use crate::geom::Pose;
        let demo = Demo {
            task: Some("stack".into()),
            t: vec![0.0, 0.05, 0.1],
            eef: vec![Pose::IDENTITY; 3],
            gripper: vec![0.0, 0.5, 1.0],
            objects: vec![ObjectTrack {
                name: "cubeA".into(),
                poses: vec![Pose::IDENTITY; 3],
            }],
            subtask_term_signals: vec![],
        };
        let c = GenerationConfig {
            demo: DemoRef::Embedded {
                demo: Box::new(demo.clone()),
            },
            ..Default::default()
        };
        let text = c.to_canonical_json().unwrap();
        assert!(text.contains(r#""kind":"embedded""#), "{text}");
        assert_eq!(GenerationConfig::from_json(&text).unwrap(), c);
        let mut short = demo;
        short.gripper.pop();
        let bad = GenerationConfig {
            demo: DemoRef::Embedded {
                demo: Box::new(short),
            },
            ..Default::default()
        };
        assert_eq!(err_field(bad.validate().map(|_| bad.clone())), "demo.demo");
    }
}

//! Data generation: one demo in, validated episodes out.
//!
//! A [`Generator`] is built once per run from a [`GenerationConfig`] and a demo: it
//! aligns the demo to the scene, segments it into object-centric subtasks (with the
//! config's manual corrections) and fits one pose DMP per subtask. After that it is
//! immutable and cheap to share; [`Generator::attempt`] runs attempt `i` in a fresh
//! physics world, and depends only on `(config, demo, i)`: the scene, the dynamics and
//! any noise come from `rng::episode_seed(config.seed, i)`.
//!
//! **D-MG** ([`Method::Dmg`]): for each subtask a DMP starts at the current commanded
//! pose with its goal at `object_pose * end_pose_in_object`; the goal is recomputed
//! from the object's *live* pose at every control step (every subtask, place included),
//! and the DMP's goal filter keeps the motion smooth. A subtask ends when its DMP has
//! run its steps and its commanded pose has settled on the goal (bounded).
//! **MimicGen** ([`Method::MimicGen`]): see [`crate::baseline`].
//!
//! The gripper follows the demo's commands within each subtask. Success is the task
//! predicate held for the task's hold time ([`SuccessTracker`]). A failed attempt gets
//! a [`FailureReason`].
//!
//! [`DatasetAssembler`] turns attempts, fed in index order, into the robomimic file;
//! the CLI and the browser both use it, so they write the same bytes.

use crate::baseline;
use crate::config::{
    ConfigError, DemoFrame, DemoRef, DmpParams, DmpScaling, GenerationConfig, Method, Variant,
};
use crate::demo::{read_demo_auto, Demo, DemoError, SceneFrame, ROBOSUITE_TABLE_Z};
use crate::dmp::{DmpConfig, DmpError, DmpRunner, PoseDmp, PoseVelocity, Scaling};
use crate::export::{
    observe, DatasetWriter, EpisodeRecord, ExportError, GenerationStats, Observation, StepRecord,
};
use crate::geom::{Pose, Quat, Vec3};
use crate::rng::{episode_seed, Rng};
use crate::segment::{segment_in, SegmentError, SegmentOverrides, SegmentParams, TaskSpec};
use crate::sim::{PandaWorld, PhysicsSettings, SimError, World, CONTROL_DT};
use crate::task::dynamics::{DynamicsConfig, DynamicsPlan, DynamicsVariant};
use crate::task::{SuccessTracker, Task, TaskError};
use std::sync::Arc;

mod codec;
#[cfg(not(target_arch = "wasm32"))]
pub mod parallel;
#[cfg(not(target_arch = "wasm32"))]
pub mod run;
#[cfg(feature = "hdf5-read")]
pub mod shard;
pub use codec::CodecError;

/// Steps after a gripper close command before the grasp is checked (fingers closing).
const CLOSE_STEPS: usize = 8;
/// Consecutive unreachable IK targets that abort an attempt.
const UNREACHABLE_STEPS: usize = 10;
/// Measured hand position within this distance of the subtask's final target counts as
/// settled (m; see [`crate::config::Assists::settle_steps`]).
const SETTLE_POS_TOL: f64 = 0.003;
/// Measured hand orientation within this angle of the final target counts as settled (rad).
const SETTLE_ROT_TOL: f64 = 0.03;
/// A contact between an arm link or the hand housing and the fixed scene (table, floor,
/// belt) with a normal force above this is a collision (N): grazing contacts from
/// solver noise stay far below it, a link pushed into the table far above.
pub const COLLISION_BODY_FORCE: f64 = 5.0;
/// A finger pressing on the fixed scene with more than this force is a collision (N):
/// fingertips may brush the table while grasping a flat object, a hand driven into
/// the table presses with the arm's full torque.
pub const COLLISION_FINGER_FORCE: f64 = 40.0;
/// A kinematic arm link (`ArmModel::Kinematic`) deeper than this in the fixed scene is
/// a collision (m): such links feel no force, and nothing stops them short of it.
pub const COLLISION_BODY_DEPTH: f64 = 0.001;

/// Whether a control period's contacts with the fixed scene count as a collision.
pub fn is_collision(contact: &crate::sim::RobotContact) -> bool {
    contact.body_force > COLLISION_BODY_FORCE
        || contact.finger_force > COLLISION_FINGER_FORCE
        || contact.body_depth > COLLISION_BODY_DEPTH
}
/// Largest velocity feed-forward added to a goal (m).
const MAX_GOAL_LEAD: f64 = 0.05;
/// A held object farther than this from the hand is not corrected for (m).
const HAND_OFFSET_MAX: f64 = 0.15;
/// Steps after the last subtask during which success may still be established.
const TAIL_STEPS: usize = 20;

/// Why an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// The fingers closed without the object between them.
    MissedGrasp,
    /// The object was held, then lost before the subtask released it.
    Dropped,
    /// Every subtask ran but the task predicate does not hold.
    Misplaced,
    /// The episode ran past its time limit.
    Timeout,
    /// The arm could not reach the commanded poses.
    IkUnreachable,
    /// The physics became unstable or rejected the scene.
    Physics,
    /// The arm or the hand hit the table or a fixture (see [`COLLISION_BODY_FORCE`]).
    Collision,
}

impl FailureReason {
    /// All reasons, in code order.
    pub const ALL: [FailureReason; 7] = [
        FailureReason::MissedGrasp,
        FailureReason::Dropped,
        FailureReason::Misplaced,
        FailureReason::Timeout,
        FailureReason::IkUnreachable,
        FailureReason::Physics,
        FailureReason::Collision,
    ];

    /// Short snake_case label used in statistics and the UI.
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureReason::MissedGrasp => "missed_grasp",
            FailureReason::Dropped => "dropped",
            FailureReason::Misplaced => "misplaced",
            FailureReason::Timeout => "timeout",
            FailureReason::IkUnreachable => "ik_unreachable",
            FailureReason::Physics => "physics_error",
            FailureReason::Collision => "collision",
        }
    }

    /// A sentence for people.
    pub fn describe(&self) -> &'static str {
        match self {
            FailureReason::MissedGrasp => "the gripper closed but did not hold the object",
            FailureReason::Dropped => "the object slipped out of the gripper",
            FailureReason::Misplaced => "every subtask ran but the goal condition does not hold",
            FailureReason::Timeout => "the episode ran out of time",
            FailureReason::IkUnreachable => "the arm could not reach the commanded pose",
            FailureReason::Physics => "the physics simulation became unstable",
            FailureReason::Collision => "the arm or the hand hit the table or a fixture",
        }
    }

    fn code(&self) -> u8 {
        match self {
            FailureReason::MissedGrasp => 1,
            FailureReason::Dropped => 2,
            FailureReason::Misplaced => 3,
            FailureReason::Timeout => 4,
            FailureReason::IkUnreachable => 5,
            FailureReason::Physics => 6,
            FailureReason::Collision => 7,
        }
    }

    fn from_code(c: u8) -> Option<FailureReason> {
        FailureReason::ALL.into_iter().find(|r| r.code() == c)
    }
}

/// Everything that stops a generation run before it starts (attempts never error:
/// a failing attempt is a [`FailureReason`]).
#[derive(Debug, Clone, PartialEq)]
pub enum GenError {
    Config(ConfigError),
    Demo(DemoError),
    Segment(SegmentError),
    Dmp {
        subtask: String,
        error: DmpError,
    },
    Task(TaskError),
    Sim(SimError),
    Export(ExportError),
    Codec(CodecError),
    /// Anything else a person can act on.
    Invalid(String),
}

impl std::fmt::Display for GenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GenError::Config(e) => write!(f, "configuration: {e}"),
            GenError::Demo(e) => write!(f, "demo: {e}"),
            GenError::Segment(e) => write!(f, "segmentation: {e}"),
            GenError::Dmp { subtask, error } => write!(f, "subtask '{subtask}': {error}"),
            GenError::Task(e) => write!(f, "task: {e}"),
            GenError::Sim(e) => write!(f, "scene: {e}"),
            GenError::Export(e) => write!(f, "dataset: {e}"),
            GenError::Codec(e) => write!(f, "episode data: {e}"),
            GenError::Invalid(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for GenError {}

impl From<ConfigError> for GenError {
    fn from(e: ConfigError) -> Self {
        GenError::Config(e)
    }
}
impl From<DemoError> for GenError {
    fn from(e: DemoError) -> Self {
        GenError::Demo(e)
    }
}
impl From<SegmentError> for GenError {
    fn from(e: SegmentError) -> Self {
        GenError::Segment(e)
    }
}
impl From<TaskError> for GenError {
    fn from(e: TaskError) -> Self {
        GenError::Task(e)
    }
}
impl From<SimError> for GenError {
    fn from(e: SimError) -> Self {
        GenError::Sim(e)
    }
}
impl From<ExportError> for GenError {
    fn from(e: ExportError) -> Self {
        GenError::Export(e)
    }
}
impl From<CodecError> for GenError {
    fn from(e: CodecError) -> Self {
        GenError::Codec(e)
    }
}

// ------------------------------------------------------------------ built-in demos

/// Ids of the built-in demos (one per task, the task's id).
pub const BUILTIN_DEMOS: [&str; 8] = crate::task::TASK_IDS;

/// The JSON text of a built-in demo (the files in `public/demos/`, recorded with
/// `dmgen demo --task <id>`). Native builds compile them in; the browser build does
/// not (they would add ~130 KB gzipped to the module): the page fetches them and hands
/// them over with [`register_builtin_demo`] before opening a session.
#[cfg(not(target_arch = "wasm32"))]
pub fn builtin_demo_json(id: &str) -> Option<&'static str> {
    Some(match id {
        "lift" => include_str!("../../public/demos/lift.json"),
        "stack" => include_str!("../../public/demos/stack.json"),
        "square" => include_str!("../../public/demos/square.json"),
        "pick_place" => include_str!("../../public/demos/pick_place.json"),
        "conveyor" => include_str!("../../public/demos/conveyor.json"),
        "mug_cleanup" => include_str!("../../public/demos/mug_cleanup.json"),
        "stack_three" => include_str!("../../public/demos/stack_three.json"),
        "hammer_cleanup" => include_str!("../../public/demos/hammer_cleanup.json"),
        _ => return None,
    })
}

#[cfg(target_arch = "wasm32")]
static REGISTERED_DEMOS: std::sync::Mutex<Vec<(&'static str, &'static str)>> =
    std::sync::Mutex::new(Vec::new());

/// The JSON text of a built-in demo, as registered by the page.
#[cfg(target_arch = "wasm32")]
pub fn builtin_demo_json(id: &str) -> Option<&'static str> {
    let demos = REGISTERED_DEMOS.lock().unwrap_or_else(|e| e.into_inner());
    demos.iter().find(|(k, _)| *k == id).map(|(_, v)| *v)
}

/// Register the JSON text of built-in demo `id` (browser build; one registration per
/// id and instance, the text lives as long as the instance). Unknown ids are refused.
#[cfg(target_arch = "wasm32")]
pub fn register_builtin_demo(id: &str, json: String) -> Result<(), GenError> {
    let Some(&id) = BUILTIN_DEMOS.iter().find(|k| **k == id) else {
        return Err(GenError::Invalid(format!("'{id}' is not a built-in demo")));
    };
    let mut demos = REGISTERED_DEMOS.lock().unwrap_or_else(|e| e.into_inner());
    if !demos.iter().any(|(k, _)| *k == id) {
        demos.push((id, Box::leak(json.into_boxed_str())));
    }
    Ok(())
}

/// Read a built-in demo.
pub fn builtin_demo(id: &str) -> Result<Demo, GenError> {
    let text = builtin_demo_json(id).ok_or_else(|| {
        GenError::Invalid(format!(
            "'{id}' is not a built-in demo; choose one of {}",
            BUILTIN_DEMOS.join(", ")
        ))
    })?;
    Ok(read_demo_auto(text.as_bytes(), Some(id), 0)?)
}

/// The built-in demo `id` of a configuration: the shipped demo of that id, else (for a
/// task file that is not built in) the task's scripted demonstration from the reset
/// drawn with seed 0, recorded when needed: the same demo everywhere the core runs.
pub fn config_builtin_demo(config: &GenerationConfig, id: &str) -> Result<Demo, GenError> {
    match (&config.custom_task, builtin_demo_json(id)) {
        (Some(task), None) if task.id == id => crate::task::scripted::scripted_demo_of(task, 0)
            .map_err(|e| {
                GenError::Invalid(format!(
                    "task '{id}' has no built-in demo ({e}); supply a demo file"
                ))
            }),
        _ => builtin_demo(id),
    }
}

/// Move a demo recorded in another simulator's frame into the scene: when its objects
/// do not start on this scene's table (z near 0), the table height is taken to be
/// robosuite's (0.8 m) if the objects sit just above it, else estimated from the
/// lowest object (see [`Demo::align_to_scene`]). Demos already in the scene frame are
/// left untouched. Returns the translation applied.
pub fn align_demo(demo: &mut Demo) -> Vec3 {
    let low = demo
        .objects
        .iter()
        .filter_map(|o| o.poses.first())
        .map(|p| p.pos.z())
        .fold(f64::INFINITY, f64::min);
    if !low.is_finite() || (-0.05..0.3).contains(&low) {
        return Vec3::ZERO;
    }
    let table = if (ROBOSUITE_TABLE_Z - 0.05..ROBOSUITE_TABLE_Z + 0.3).contains(&low) {
        Some(ROBOSUITE_TABLE_Z)
    } else {
        None
    };
    demo.align_to_scene(&SceneFrame::default(), table)
}

/// [`align_demo`] for [`DemoFrame::Auto`]; the robosuite frame and rigid transforms move
/// the demo rigidly (see [`Demo::move_rigid`]).
pub fn align_demo_in(demo: &mut Demo, frame: &DemoFrame, task: &str) {
    let (base, yaw, table_z) = match *frame {
        DemoFrame::Auto => {
            align_demo(demo);
            return;
        }
        DemoFrame::Robosuite => ([ROBOSUITE_BASE_X, 0.0], 0.0, robosuite_table_z(task)),
        DemoFrame::Rigid { base, yaw, table_z } => (base, yaw, table_z),
    };
    demo.move_rigid(base, yaw, table_z, &SceneFrame::default());
}

/// The table top's height in robosuite's arena for `task`: 0.82 m for Square
/// (`NutAssembly`'s `table_offset`), 0.8 m for the others.
pub fn robosuite_table_z(task: &str) -> f64 {
    if task == "square" {
        0.82
    } else {
        ROBOSUITE_TABLE_Z
    }
}

/// x of the Panda's base in robosuite's table-top arenas: 0.16 m plus half the 0.8 m table
/// behind the table centre, the world origin (robosuite's `base_xpos_offset["table"]`).
pub const ROBOSUITE_BASE_X: f64 = -0.56;

// ------------------------------------------------------------------ symmetry

/// Rotational symmetry of an object about its vertical axis, from its collider parts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum YawSymmetry {
    /// Only the identity maps the object onto itself.
    None,
    /// Rotations by multiples of this angle (rad) do.
    Discrete(f64),
    /// Every rotation does (a cylinder on its axis).
    Continuous,
}

/// An axis-aligned description of a part in the object frame: centre and half extents
/// (`None` when the part is rotated about a non-vertical axis or by an odd angle).
fn part_box(p: &crate::task::Part) -> Option<(Vec3, Vec3, bool)> {
    use crate::task::PartShape;
    let yaw = p.offset.quat.yaw();
    let upright = p.offset.quat.angle_to(Quat::from_yaw(yaw)) < 1e-6;
    let quarter = (yaw / (0.5 * std::f64::consts::PI)).round();
    if !upright || (yaw - quarter * 0.5 * std::f64::consts::PI).abs() > 1e-6 {
        return None;
    }
    let swap = (quarter as i64).rem_euclid(2) == 1;
    Some(match &p.shape {
        PartShape::Cuboid { half_extents: h } => {
            let (hx, hy) = if swap { (h.y(), h.x()) } else { (h.x(), h.y()) };
            (p.offset.pos, Vec3::new(hx, hy, h.z()), false)
        }
        PartShape::Cylinder {
            half_height,
            radius,
        } => (
            p.offset.pos,
            Vec3::new(*radius, *radius, *half_height),
            true,
        ),
        PartShape::Sphere { radius } => (p.offset.pos, Vec3::new(*radius, *radius, *radius), true),
    })
}

/// The object's yaw symmetry (tolerance 0.1 mm).
pub fn yaw_symmetry(spec: &crate::task::ObjectSpec) -> YawSymmetry {
    let Some(boxes) = spec.parts.iter().map(part_box).collect::<Option<Vec<_>>>() else {
        return YawSymmetry::None;
    };
    let close = |a: Vec3, b: Vec3| (a - b).norm() < 1e-4;
    if boxes
        .iter()
        .all(|(c, _, cyl)| *cyl && c.x().abs() < 1e-4 && c.y().abs() < 1e-4)
    {
        return YawSymmetry::Continuous;
    }
    let invariant = |quarter: bool| {
        boxes.iter().all(|(c, h, cyl)| {
            let (rc, rh) = if quarter {
                (
                    Vec3::new(-c.y(), c.x(), c.z()),
                    Vec3::new(h.y(), h.x(), h.z()),
                )
            } else {
                (Vec3::new(-c.x(), -c.y(), c.z()), *h)
            };
            boxes
                .iter()
                .any(|(c2, h2, cyl2)| cyl == cyl2 && close(rc, *c2) && close(rh, *h2))
        })
    };
    if invariant(true) {
        YawSymmetry::Discrete(0.5 * std::f64::consts::PI)
    } else if invariant(false) {
        YawSymmetry::Discrete(std::f64::consts::PI)
    } else {
        YawSymmetry::None
    }
}

/// The yaw offsets equivalent under a symmetry (continuous: every 10 degrees).
fn symmetric_yaws(sym: YawSymmetry) -> Vec<f64> {
    let step = match sym {
        YawSymmetry::None => return vec![0.0],
        YawSymmetry::Discrete(a) => a,
        YawSymmetry::Continuous => std::f64::consts::PI / 18.0,
    };
    let n = ((2.0 * std::f64::consts::PI / step).round() as usize).max(1);
    (0..n).map(|k| k as f64 * step).collect()
}

// ------------------------------------------------------------------ generator

/// `model` with its forcing terms turned by `turn` and no longer adapted to the start
/// and goal ([`Scaling::Fixed`]): the demo's motion shape, turned with its object.
fn rigid_model(model: &PoseDmp, turn: Quat) -> PoseDmp {
    let mut m = model.clone();
    m.pos.scaling = crate::dmp::Scaling::Fixed;
    m.ori.scaling = crate::dmp::Scaling::Fixed;
    for w in m.pos.weights.iter_mut().chain(m.ori.weights.iter_mut()) {
        *w = turn.rotate(*w);
    }
    m
}

/// One subtask, ready to run.
#[derive(Clone, Debug)]
struct SubtaskPlan {
    /// World index of the reference object.
    object: usize,
    start: usize,
    end: usize,
    end_pose_in_object: Pose,
    frame_at_start: bool,
    model: PoseDmp,
    /// Demo gripper command per sample of the segment (true = closed).
    gripper: Vec<bool>,
    /// The object that must stay in the hand while the gripper is closed.
    holds: Option<usize>,
    /// Index of the task's own subtask outline entry this corresponds to (dynamics).
    task_subtask: Option<usize>,
    /// Yaw offsets of the reference object's frame that give an equivalent goal.
    object_yaws: Vec<f64>,
    /// Whether the gripper may approach flipped by half a turn about its axis (an
    /// open parallel gripper is symmetric).
    tool_flip: bool,
    /// For place subtasks: the held object's pose in the hand at the demo's release
    /// (`eef^-1 * object`), to correct for how the object actually sits in the hand.
    hand_offset_demo: Option<Pose>,
    /// Yaw offsets of the held object's frame that describe the same object (its
    /// symmetry): the in-hand correction ignores turns the object cannot show.
    held_yaws: Vec<f64>,
    /// Use only the reference object's position and yaw (reach subtasks: moving away
    /// from an object should not tilt with it if it tipped over).
    upright_frame: bool,
    /// Non-prehensile subtasks (pull, push): the hand moves the object by its shape, so
    /// the motion's shape is kept in the object's frame (D-MG's DMP turns its forcing
    /// term with the object's yaw, unstretched) instead of adapting to start and goal.
    /// `Some(yaw)`: the reference object's yaw at the demo segment's start.
    rigid_shape: Option<f64>,
}

#[derive(Debug, Clone)]
struct Inner {
    config: GenerationConfig,
    task: Task,
    demo: Demo,
    spec: TaskSpec,
    subtasks: Vec<SubtaskPlan>,
    dynamics: DynamicsConfig,
    settings: PhysicsSettings,
    object_names: Vec<String>,
    subtask_names: Vec<String>,
    /// Simulated seconds after which an attempt times out.
    time_limit: f64,
}

/// A prepared generation run. Cheap to clone (shared, immutable).
#[derive(Clone, Debug)]
pub struct Generator {
    inner: Arc<Inner>,
}

/// The DMP hyper-parameters a configuration's [`DmpParams`] stand for.
pub fn dmp_config(p: &DmpParams) -> DmpConfig {
    DmpConfig {
        n_bases: p.bases as usize,
        alpha: p.alpha,
        beta: p.alpha / 4.0,
        alpha_g: p.goal_filter_alpha,
        scaling: match p.scaling {
            DmpScaling::Robust => Scaling::Robust,
            DmpScaling::Axis => Scaling::Axis,
            DmpScaling::Fixed => Scaling::Fixed,
        },
        ..DmpConfig::default()
    }
}

/// The task-side dynamics of a generation config.
pub fn dynamics_config(config: &GenerationConfig) -> DynamicsConfig {
    let variant = match config.variant {
        Variant::Static => DynamicsVariant::Static,
        Variant::Dmg => DynamicsVariant::Dmg,
        Variant::MovingTarget => DynamicsVariant::MovingTarget,
        Variant::Push => DynamicsVariant::Push,
    };
    let d = &config.dynamics;
    DynamicsConfig {
        variant,
        probability: d.probability,
        speed: d.speed_mps,
        window: [0.0, d.active_fraction],
        axes: d.axes.clone(),
        ..DynamicsConfig::default()
    }
}

/// The segmentation corrections of a generation config.
fn overrides(config: &GenerationConfig) -> Option<SegmentOverrides> {
    let s = &config.segmentation;
    if s.boundaries.is_empty() && s.objects.is_empty() {
        return None;
    }
    Some(SegmentOverrides {
        boundaries: (!s.boundaries.is_empty()).then(|| s.boundaries.clone()),
        objects: (!s.objects.is_empty()).then(|| s.objects.clone()),
    })
}

impl Generator {
    /// The same generator in a world with other physics settings (for measuring what a
    /// setting costs or buys; datasets use the defaults).
    pub fn with_physics(self, settings: PhysicsSettings) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| (*shared).clone());
        inner.settings = settings;
        Generator {
            inner: Arc::new(inner),
        }
    }

    /// The physics settings of the generator's worlds.
    pub fn physics(&self) -> &PhysicsSettings {
        &self.inner.settings
    }

    /// Prepare a run. `demo`: the demo file's bytes and name, or `None` to use the
    /// config's demo (a built-in id or an embedded demo; a demo pinned by SHA-256 must
    /// be given and must match).
    pub fn new(config: &GenerationConfig, demo: Option<(&[u8], &str)>) -> Result<Self, GenError> {
        config.validate()?;
        let demo = match (&config.demo, demo) {
            (DemoRef::Sha256 { index, .. }, Some((bytes, name))) => {
                check_demo_file(config, bytes, name)?;
                read_demo_auto(bytes, Some(name), *index as usize)?
            }
            (DemoRef::Sha256 { sha256, name, .. }, None) => {
                return Err(GenError::Invalid(format!(
                    "this configuration needs the demo file {}with SHA-256 {sha256}; supply it",
                    name.as_ref().map(|n| format!("'{n}' ")).unwrap_or_default()
                )))
            }
            (_, Some((bytes, name))) => read_demo_auto(bytes, Some(name), 0)?,
            (DemoRef::Builtin { id }, None) => config_builtin_demo(config, id)?,
            (DemoRef::Embedded { demo }, None) => {
                let mut d = (**demo).clone();
                d.validate()?;
                d
            }
        };
        Self::from_demo(config, demo)
    }

    /// Prepare a run from an uploaded demo file (`bytes`, checked against the
    /// configuration's SHA-256) and the demo read from it elsewhere (and validated, as
    /// [`crate::demo::read_demo_transfer`] does): the page's first module has no HDF5
    /// reader, so its on-demand module reads the file and hands the demo over.
    pub fn for_read_file(
        config: &GenerationConfig,
        bytes: &[u8],
        name: &str,
        demo: Demo,
    ) -> Result<Self, GenError> {
        check_demo_file(config, bytes, name)?;
        // `from_demo` validates the configuration.
        Self::from_demo(config, demo)
    }

    /// Prepare a run from a demo already read (and validated).
    pub fn from_demo(config: &GenerationConfig, mut demo: Demo) -> Result<Self, GenError> {
        config.validate()?;
        let task = config.build_task()?;
        let object_names = task.object_names();
        let known: Vec<&str> = object_names.iter().map(String::as_str).collect();
        demo.map_objects(&known, |n| {
            task.demo_object_name(n, &config.object_map).to_string()
        })?;
        for name in &object_names {
            if demo.object_index(name).is_none() {
                return Err(GenError::Invalid(format!(
                    "the demo has no track for '{name}', an object of task '{}' (it has {})",
                    task.id,
                    demo.objects
                        .iter()
                        .map(|o| format!("'{}'", o.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if let Some(t) = &demo.task {
            if t != &task.id {
                return Err(GenError::Invalid(format!(
                    "the demo was recorded for task '{t}' but the configuration asks for '{}'",
                    task.id
                )));
            }
        }
        align_demo_in(&mut demo, &config.demo_frame, &task.id);
        // A task file's own geometry (a built-in task's is found from the demo's task).
        let spec = segment_in(
            &demo,
            config.custom_task.as_deref(),
            &SegmentParams::default(),
            overrides(config).as_ref(),
        )?;
        spec.check_against(&demo)?;
        let dmp_cfg = dmp_config(&config.dmp);
        let mut subtasks = Vec::with_capacity(spec.subtasks.len());
        let mut names: Vec<String> = Vec::new();
        let mut last_grasped: Option<usize> = None;
        for s in &spec.subtasks {
            let object = task.object_index(&s.object)?;
            // A segment cut out of a continuous motion is fitted from the velocity the
            // demo had entering it; rollouts start from the commanded velocity.
            let before = s.start.checked_sub(1).map(|k| &demo.eef[k]);
            let model = PoseDmp::fit_entered(&demo.eef[s.start..s.end], before, &dmp_cfg).map_err(
                |error| GenError::Dmp {
                    subtask: s.name.clone(),
                    error,
                },
            )?;
            let gripper: Vec<bool> = demo.gripper[s.start..s.end]
                .iter()
                .map(|g| *g > 0.5)
                .collect();
            use crate::segment::SubtaskKind as K;
            let holds = match s.kind {
                K::Place | K::Carry => last_grasped,
                K::Grasp | K::Reach | K::Pull | K::Push => None,
            };
            if s.kind == K::Grasp {
                last_grasped = Some(object);
            }
            let task_kind = match s.kind {
                K::Grasp => Some(crate::task::SubtaskKind::Grasp),
                K::Place => Some(crate::task::SubtaskKind::Place),
                K::Carry => Some(crate::task::SubtaskKind::Lift),
                K::Pull => Some(crate::task::SubtaskKind::Pull),
                K::Push => Some(crate::task::SubtaskKind::Push),
                K::Reach => None,
            };
            let task_subtask = task_kind.and_then(|k| {
                task.subtasks
                    .iter()
                    .position(|t| t.kind == k && t.object == s.object)
            });
            // Unique names (robomimic keys them): "lift cube", "lift cube 2", ...
            let mut name = s.name.clone();
            let mut k = 2;
            while names.contains(&name) {
                name = format!("{} {k}", s.name);
                k += 1;
            }
            names.push(name);
            let symmetry = yaw_symmetry(&task.objects[object]);
            // Equivalent goals are chosen by the smallest turn of the hand, so for a
            // held object (carry) the choice matching the actual grasp wins.
            let object_yaws = symmetric_yaws(symmetry);
            let tool_flip = matches!(s.kind, K::Grasp | K::Reach | K::Carry | K::Pull | K::Push);
            let hand_offset_demo = match (s.kind, holds) {
                (K::Place, Some(h)) => {
                    let name = &object_names[h];
                    demo.object_index(name).map(|di| {
                        let k = s.end - 1;
                        demo.objects[di].poses[k].relative_to(&demo.eef[k])
                    })
                }
                _ => None,
            };
            let held_yaws = match holds {
                Some(h) => symmetric_yaws(yaw_symmetry(&task.objects[h])),
                None => vec![0.0],
            };
            let rigid_shape = matches!(s.kind, K::Pull | K::Push)
                .then(|| demo.object_index(&s.object))
                .flatten()
                .map(|di| demo.objects[di].poses[s.start].quat.yaw());
            subtasks.push(SubtaskPlan {
                rigid_shape,
                held_yaws,
                upright_frame: s.kind == K::Reach,
                object_yaws,
                tool_flip,
                hand_offset_demo,
                object,
                start: s.start,
                end: s.end,
                end_pose_in_object: s.end_pose_in_object,
                frame_at_start: s.object_frame_at_start,
                model,
                gripper,
                holds,
                task_subtask,
            });
        }
        let demo_seconds = demo.len() as f64 * CONTROL_DT;
        let time_limit = task.horizon.max(1.5 * demo_seconds + 2.0);
        Ok(Generator {
            inner: Arc::new(Inner {
                config: config.clone(),
                dynamics: dynamics_config(config),
                settings: PhysicsSettings::default(),
                object_names,
                subtask_names: names,
                time_limit,
                task,
                demo,
                spec,
                subtasks,
            }),
        })
    }

    pub fn config(&self) -> &GenerationConfig {
        &self.inner.config
    }
    pub fn task(&self) -> &Task {
        &self.inner.task
    }
    /// The subtasks (automatic segmentation with the config's corrections).
    pub fn spec(&self) -> &TaskSpec {
        &self.inner.spec
    }
    /// The demo, aligned to the scene.
    pub fn demo(&self) -> &Demo {
        &self.inner.demo
    }
    /// Subtask names as written to the dataset (unique).
    pub fn subtask_names(&self) -> &[String] {
        &self.inner.subtask_names
    }
    /// The DMP fitted to subtask `i` (for plots).
    pub fn subtask_model(&self, i: usize) -> Option<&PoseDmp> {
        self.inner.subtasks.get(i).map(|s| &s.model)
    }

    /// The scene of attempt `index`: object poses and dynamics plan, and the random
    /// stream the attempt continues with.
    pub fn scene(&self, index: u64) -> (Vec<Pose>, DynamicsPlan, Rng) {
        sample_scene(
            &self.inner.task,
            &self.inner.dynamics,
            self.inner.config.seed,
            index,
        )
    }

    /// Attempt `index` as a stepping rollout (for live previews).
    pub fn rollout(&self, index: u64) -> Result<Rollout, GenError> {
        let (poses, plan, rng) = self.scene(index);
        Rollout::new(self.clone(), index, &poses, plan, rng)
    }

    /// Attempt `index`'s dynamics and noise, from user-chosen object poses.
    pub fn rollout_with_poses(&self, index: u64, poses: &[Pose]) -> Result<Rollout, GenError> {
        let (_, plan, rng) = self.scene(index);
        Rollout::new(self.clone(), index, poses, plan, rng)
    }

    /// Run attempt `index` to its end.
    pub fn attempt(&self, index: u64) -> Attempt {
        match self.rollout(index) {
            Ok(mut r) => {
                while !r.step() {}
                r.finish()
            }
            // The reset itself was rejected (e.g. overlapping objects): a failed attempt.
            Err(_) => Attempt {
                index,
                success: false,
                failure: Some(FailureReason::Physics),
                episode: EpisodeRecord {
                    attempt: index,
                    seed: episode_seed(self.inner.config.seed, index),
                    object_names: self.inner.object_names.clone(),
                    subtask_names: self.inner.subtask_names.clone(),
                    ..EpisodeRecord::default()
                },
            },
        }
    }
}

/// The scene of attempt `index` of a run with master seed `seed`: object poses, dynamics
/// plan, and the episode's random stream after drawing them (action noise continues it).
/// Generation, policy evaluation and the Python environments' `reset(seed)` all start
/// episodes here, so the same seed and index give the same scene everywhere.
pub fn sample_scene(
    task: &Task,
    dynamics: &DynamicsConfig,
    seed: u64,
    index: u64,
) -> (Vec<Pose>, DynamicsPlan, Rng) {
    let mut rng = Rng::new(episode_seed(seed, index));
    let poses = task.sample_object_poses(&mut rng);
    let plan = DynamicsPlan::sample(task, dynamics, &mut rng);
    (poses, plan, rng)
}

// ------------------------------------------------------------------ rollout

/// One finished attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub index: u64,
    pub success: bool,
    pub failure: Option<FailureReason>,
    pub episode: EpisodeRecord,
}

impl Attempt {
    /// Compact, exact binary encoding (little-endian f64; see [`codec`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }
    pub fn from_bytes(bytes: &[u8]) -> Result<Attempt, GenError> {
        Ok(codec::decode(bytes)?)
    }
}

/// An attempt being executed, one control step at a time.
pub struct Rollout {
    g: Generator,
    index: u64,
    seed: u64,
    world: PandaWorld,
    plan: DynamicsPlan,
    rng: Rng,
    tracker: SuccessTracker,
    /// Current subtask and the step within it.
    sub: usize,
    k: usize,
    runner: Option<DmpRunner>,
    /// MimicGen pose targets of the current subtask.
    replay: Vec<Pose>,
    /// Reference object pose when the current subtask started.
    frame: Pose,
    /// Symmetry choices of the current subtask: object frame yaw offset, tool flip.
    sym_yaw: f64,
    tool_yaw: f64,
    goal: Option<Pose>,
    /// The command of this step and of the previous one, before action noise.
    target: Pose,
    prev_target: Pose,
    /// The command actually sent (with action noise).
    sent: Pose,
    /// Steps waited at the end of the current subtask for the hand to settle.
    settling: usize,
    gripper: bool,
    tail: usize,
    unreachable: usize,
    held: bool,
    steps: Vec<StepRecord>,
    outcome: Option<Option<FailureReason>>,
    final_obs: Option<Observation>,
    /// What the world looked like at each observation (steps, then the final one), kept
    /// only when the configuration records camera images; rendered once the attempt
    /// succeeds, so failed attempts cost no rendering.
    scenes: Option<Vec<Vec<crate::sim::VisualShape>>>,
}

impl Rollout {
    fn new(
        g: Generator,
        index: u64,
        poses: &[Pose],
        plan: DynamicsPlan,
        rng: Rng,
    ) -> Result<Rollout, GenError> {
        let world = PandaWorld::with_poses(&g.inner.task, g.inner.settings.clone(), poses)?;
        let eef = world.eef_pose();
        let scenes = (!g.inner.config.cameras.is_off()).then(Vec::new);
        Ok(Rollout {
            seed: episode_seed(g.inner.config.seed, index),
            tracker: SuccessTracker::new(&g.inner.task),
            g,
            index,
            world,
            plan,
            rng,
            sub: 0,
            k: 0,
            runner: None,
            replay: Vec::new(),
            frame: Pose::IDENTITY,
            sym_yaw: 0.0,
            tool_yaw: 0.0,
            goal: None,
            target: eef,
            prev_target: eef,
            sent: eef,
            settling: 0,
            gripper: false,
            tail: 0,
            unreachable: 0,
            held: false,
            steps: Vec::new(),
            outcome: None,
            final_obs: None,
            scenes,
        })
    }

    pub fn world(&self) -> &PandaWorld {
        &self.world
    }
    /// Mutable world access (e.g. to drag an object while the robot moves).
    pub fn world_mut(&mut self) -> &mut PandaWorld {
        &mut self.world
    }
    /// Index of the running subtask (`subtask_names().len()` once all have run).
    pub fn subtask(&self) -> usize {
        self.sub
    }
    /// The current subtask's goal pose (live).
    pub fn goal(&self) -> Option<Pose> {
        self.goal
    }
    /// Every subtask's goal from the objects' current poses (for drawing frames).
    pub fn goals(&self) -> Vec<Pose> {
        let poses = self.world.object_poses();
        self.g
            .inner
            .subtasks
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == self.sub {
                    if let Some(g) = self.goal {
                        return g;
                    }
                }
                poses[s.object].compose(&s.end_pose_in_object)
            })
            .collect()
    }
    /// The poses the robot will command for the rest of the current subtask if the
    /// goal stays where it is now.
    pub fn planned_path(&self) -> Vec<Pose> {
        match (&self.runner, self.g.inner.config.method) {
            (Some(r), Method::Dmg) => r.remaining_path(),
            _ => self.replay.iter().skip(self.k).copied().collect(),
        }
    }
    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps.len()
    }
    /// `Some((success, reason))` once the attempt is over.
    pub fn outcome(&self) -> Option<(bool, Option<FailureReason>)> {
        self.outcome.map(|f| (f.is_none(), f))
    }
    /// The dynamics plan of this attempt.
    pub fn dynamics(&self) -> &DynamicsPlan {
        &self.plan
    }

    fn end(&mut self, failure: Option<FailureReason>) -> bool {
        if self.outcome.is_none() {
            self.outcome = Some(failure);
            self.final_obs = Some(observe(&self.world));
            if let Some(scenes) = &mut self.scenes {
                scenes.push(self.world.visual_shapes());
            }
            for d in 0..self.world.object_names().len() {
                self.world.set_object_drive(d, None);
            }
        }
        true
    }

    /// The goal of subtask `s` with symmetry choices `(sym_yaw, tool_yaw)`: the
    /// reference object's live pose (or its pose at the subtask's start) turned by
    /// `sym_yaw`, composed with the demo's end pose in that frame, turned by `tool_yaw`
    /// about the tool axis; for D-MG place subtasks, corrected for how the held object
    /// actually sits in the hand.
    fn goal_with(&self, s: &SubtaskPlan, sym_yaw: f64, tool_yaw: f64) -> Pose {
        let mut base = if s.frame_at_start {
            self.frame
        } else {
            self.world.object_poses()[s.object]
        };
        if s.upright_frame {
            base = Pose::new(base.pos, Quat::from_yaw(base.quat.yaw()));
        }
        let turn = |yaw: f64| Pose::new(Vec3::ZERO, Quat::from_yaw(yaw));
        let mut g = base.compose(&turn(sym_yaw)).compose(&s.end_pose_in_object);
        if tool_yaw != 0.0 {
            g = g.compose(&turn(tool_yaw));
        }
        if let Some(c) = self.in_hand_correction(s) {
            g = g.compose(&c);
        }
        g
    }

    /// For a place subtask with the in-hand correction on: the right factor that moves a
    /// hand target of the demo to one that puts the held *object* where the demo put it,
    /// `hand_demo * hand_now^-1` (object poses in the hand at the demo's release and now).
    /// Measured from the subtask's first step (the fingers may still be closing), so the
    /// symmetry choice already sees how the object sits in the hand.
    fn in_hand_correction(&self, s: &SubtaskPlan) -> Option<Pose> {
        if !self.g.inner.config.assists.in_hand_correction {
            return None;
        }
        let (hd, h) = (s.hand_offset_demo?, s.holds?);
        let now = self.world.object_poses()[h].relative_to(&self.world.eef_pose());
        if now.pos.norm() >= HAND_OFFSET_MAX {
            return None;
        }
        // Of the frames a symmetric object can be described by (a cube turned by a
        // quarter is the same cube), take the one closest to the demo's in-hand pose.
        let turn = |yaw: f64| Pose::new(Vec3::ZERO, Quat::from_yaw(yaw));
        let now = s
            .held_yaws
            .iter()
            .map(|a| now.compose(&turn(*a)))
            .min_by(|a, b| {
                a.quat
                    .angle_to(hd.quat)
                    .total_cmp(&b.quat.angle_to(hd.quat))
            })
            .unwrap_or(now);
        Some(hd.compose(&now.inverse()))
    }

    fn goal_for(&self, s: &SubtaskPlan) -> Pose {
        self.goal_with(s, self.sym_yaw, self.tool_yaw)
    }

    /// Velocity feed-forward: lead the goal of a moving reference object by its velocity
    /// times the DMP's ramp lag, so the hand does not trail an object on a belt.
    fn goal_lead(&self, s: &SubtaskPlan) -> Vec3 {
        if s.frame_at_start || !self.g.inner.config.assists.goal_feedforward {
            return Vec3::ZERO;
        }
        let Some(r) = &self.runner else {
            return Vec3::ZERO;
        };
        let v = self.world.object_velocities()[s.object].0;
        let lead = v * r.model().pos.ramp_lag_time();
        let n = lead.norm();
        if n > MAX_GOAL_LEAD {
            lead * (MAX_GOAL_LEAD / n)
        } else {
            lead
        }
    }

    /// Pick the equivalent goal closest in orientation to the current command.
    fn choose_symmetry(&mut self, s: &SubtaskPlan) {
        let flips: &[f64] = if s.tool_flip {
            &[0.0, std::f64::consts::PI]
        } else {
            &[0.0]
        };
        let mut best = (f64::INFINITY, 0.0, 0.0);
        for &a in &s.object_yaws {
            for &b in flips {
                let angle = self.goal_with(s, a, b).quat.angle_to(self.target.quat);
                if angle < best.0 - 1e-9 {
                    best = (angle, a, b);
                }
            }
        }
        self.sym_yaw = best.1;
        self.tool_yaw = best.2;
    }

    fn begin_subtask(&mut self) {
        let g = self.g.clone();
        let s = &g.inner.subtasks[self.sub];
        self.frame = self.world.object_poses()[s.object];
        self.choose_symmetry(s);
        let goal = self.goal_for(s);
        self.goal = Some(goal);
        let start = self.target;
        self.settling = 0;
        match g.inner.config.method {
            Method::Dmg => {
                // Continue the commanded motion: the DMP starts with the velocity of the
                // last commanded step (zero at the first subtask).
                let v = PoseVelocity::between(&self.prev_target, &self.target, CONTROL_DT);
                let model = match s.rigid_shape {
                    Some(demo_yaw) => {
                        let turn = Quat::from_yaw(self.frame.quat.yaw() + self.sym_yaw - demo_yaw);
                        rigid_model(&s.model, turn)
                    }
                    None => s.model.clone(),
                };
                self.runner = Some(DmpRunner::moving(model, start, goal, v));
            }
            Method::MimicGen => {
                let inner = &g.inner;
                let di = inner
                    .demo
                    .object_index(&inner.object_names[s.object])
                    .unwrap_or(0);
                let src_obj = inner.demo.objects[di].poses[s.start];
                let turn = |yaw: f64| Pose::new(Vec3::ZERO, Quat::from_yaw(yaw));
                let now = self.frame.compose(&turn(self.sym_yaw));
                let source: Vec<Pose> = inner.demo.eef[s.start..s.end]
                    .iter()
                    .map(|p| p.compose(&turn(self.tool_yaw)))
                    .collect();
                self.replay = baseline::transformed_segment(
                    &source,
                    &src_obj,
                    &now,
                    &start,
                    inner.config.mimicgen.bridge_steps as usize,
                );
                self.runner = None;
            }
        }
    }

    /// Take one control step. Returns `true` once the attempt is over (further calls
    /// do nothing).
    pub fn step(&mut self) -> bool {
        if self.outcome.is_some() {
            return true;
        }
        if self.world.time() >= self.g.inner.time_limit {
            return self.end(Some(FailureReason::Timeout));
        }
        let g = self.g.clone();
        let n_sub = g.inner.subtasks.len();
        let mut phase_info: Option<(Option<usize>, f64)> = None;
        if self.sub < n_sub {
            if self.k == 0 {
                self.begin_subtask();
            }
            let s = &g.inner.subtasks[self.sub];
            let seg_steps = s.end - s.start - 1;
            let bridge = match g.inner.config.method {
                Method::Dmg => 0,
                Method::MimicGen => g.inner.config.mimicgen.bridge_steps as usize,
            };
            // Gripper: the demo's command for this point of the segment.
            let j = self.k.saturating_sub(bridge).min(s.gripper.len() - 1);
            self.gripper = if self.k < bridge {
                s.gripper[0]
            } else {
                s.gripper[j]
            };
            self.prev_target = self.target;
            match g.inner.config.method {
                Method::Dmg => {
                    let goal = self.goal_for(s);
                    self.goal = Some(goal);
                    let lead = self.goal_lead(s);
                    if let Some(r) = self.runner.as_mut() {
                        r.set_goal(Pose::new(goal.pos + lead, goal.quat));
                        self.target = r.step();
                    }
                }
                Method::MimicGen => {
                    let t = self
                        .replay
                        .get(self.k)
                        .or(self.replay.last())
                        .copied()
                        .unwrap_or(self.target);
                    // The in-hand correction of a rigid replay: faded in along the
                    // segment (none at its start, where the fingers are still closing
                    // and the object is not yet in the hand; all of it from the end of
                    // the segment on), from the object's pose in the hand measured now.
                    let w = ((self.k + 1) as f64 / self.replay.len().max(1) as f64).min(1.0);
                    self.target = match self.in_hand_correction(s) {
                        Some(c) => t.interpolate(&t.compose(&c), w),
                        None => t,
                    };
                }
            }
            // Action noise (both methods): on the command sent, not on the plan.
            self.sent = baseline::noisy(
                &self.target,
                g.inner.config.assists.action_noise,
                &mut self.rng,
            );
            let phase = (self.k as f64 / (seg_steps + bridge).max(1) as f64).min(1.0);
            phase_info = Some((s.task_subtask, phase));
        }
        // Dynamics: drives for the current subtask and phase (none after the last).
        match phase_info {
            Some((Some(ts), phase)) => self.plan.apply(&mut self.world, ts, phase),
            _ => self.plan.apply(&mut self.world, usize::MAX, 0.0),
        }
        let obs = observe(&self.world);
        if let Some(scenes) = &mut self.scenes {
            scenes.push(self.world.visual_shapes());
        }
        let closed = self.gripper;
        if self.sub >= n_sub {
            self.sent = self.target;
        }
        if let Err(_e) = self
            .world
            .command(&self.sent, closed)
            .and_then(|_| self.world.step())
        {
            self.steps.push(StepRecord {
                obs,
                target: self.sent,
                gripper_closed: closed,
                reward: 0.0,
                subtask: self.sub.min(n_sub - 1),
            });
            return self.end(Some(FailureReason::Physics));
        }
        let predicate = g
            .inner
            .task
            .predicate(&self.world.object_poses(), self.world.grasped_object());
        let succeeded = self.tracker.update_with(predicate, self.world.time());
        self.steps.push(StepRecord {
            obs,
            target: self.sent,
            gripper_closed: closed,
            reward: if predicate { 1.0 } else { 0.0 },
            subtask: self.sub.min(n_sub - 1),
        });
        // The arm or the hand against the table or a fixture.
        let contact = self.world.robot_contact();
        if is_collision(&contact) {
            return self.end(Some(FailureReason::Collision));
        }
        // Reachability.
        if self.world.target_reachable() {
            self.unreachable = 0;
        } else {
            self.unreachable += 1;
            if self.unreachable >= UNREACHABLE_STEPS && succeeded && predicate {
                // Done already: the rest of the motion does not matter.
                return self.end(None);
            }
            if self.unreachable >= UNREACHABLE_STEPS {
                return self.end(Some(FailureReason::IkUnreachable));
            }
        }
        if self.sub >= n_sub {
            // Tail: hold the last command until success is established.
            self.tail += 1;
            if succeeded && predicate {
                return self.end(None);
            }
            if self.tail >= TAIL_STEPS {
                return self.end(Some(FailureReason::Misplaced));
            }
            return false;
        }
        let s = &g.inner.subtasks[self.sub];
        // Holding checks once the fingers have had time to close.
        if let Some(o) = s.holds {
            let j = self.k.min(s.gripper.len() - 1);
            let closed_for = s.gripper[..=j].iter().rev().take_while(|c| **c).count();
            if closed && closed_for >= CLOSE_STEPS.min(s.gripper.len()) {
                if self.world.grasped_object() == Some(o) {
                    self.held = true;
                } else if self.held {
                    return self.end(Some(FailureReason::Dropped));
                } else {
                    return self.end(Some(FailureReason::MissedGrasp));
                }
            }
        } else if !closed {
            self.held = false;
        }
        self.k += 1;
        let planned = match g.inner.config.method {
            Method::Dmg => s.end - s.start - 1,
            Method::MimicGen => self.replay.len(),
        };
        let done = if self.k < planned {
            false
        } else {
            // Settling (both methods): hold the subtask's final target (D-MG: keep
            // stepping its DMP towards the live goal) until the measured hand is there.
            let final_target = match g.inner.config.method {
                Method::Dmg => self.goal,
                Method::MimicGen => Some(self.target),
            };
            let eef = self.world.eef_pose();
            let settled = final_target.is_none_or(|t| {
                (eef.pos - t.pos).norm() < SETTLE_POS_TOL
                    && eef.quat.angle_to(t.quat) < SETTLE_ROT_TOL
            });
            let wait = g.inner.config.assists.settle_steps as usize;
            if !settled && self.settling < wait {
                self.settling += 1;
                false
            } else {
                true
            }
        };
        if done {
            self.sub += 1;
            self.k = 0;
            self.runner = None;
            self.replay.clear();
            if self.sub >= n_sub {
                self.goal = None;
            }
        }
        false
    }

    /// The finished attempt (runs the remaining steps first if needed).
    pub fn finish(mut self) -> Attempt {
        while !self.step() {}
        let failure = self.outcome.flatten();
        let success = failure.is_none();
        let final_obs = self.final_obs.unwrap_or_else(|| observe(&self.world));
        let images = match self.scenes.take() {
            Some(scenes) if success => {
                let eefs: Vec<Pose> = self
                    .steps
                    .iter()
                    .map(|s| s.obs.eef)
                    .chain([final_obs.eef])
                    .collect();
                // Validated cameras and finite poses cannot fail to render; if they did,
                // the episode carries no frames and the dataset writer names the problem.
                crate::camera::record_frames(&self.g.inner.config.cameras, &scenes, &eefs)
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        };
        Attempt {
            index: self.index,
            success,
            failure,
            episode: EpisodeRecord {
                attempt: self.index,
                seed: self.seed,
                success,
                object_names: self.g.inner.object_names.clone(),
                subtask_names: self.g.inner.subtask_names.clone(),
                steps: self.steps,
                final_obs,
                images,
            },
        }
    }
}

// ------------------------------------------------------------------ replay

/// Object poses stored in a flattened state (`World::state` layout of [`PandaWorld`]):
/// the scene an episode started from is `states[0]`.
pub fn object_poses_from_state(task: &Task, state: &[f64]) -> Result<Vec<Pose>, GenError> {
    const ROBOT: usize = 1 + 7 + 7 + 2 + 2;
    const PER_OBJECT: usize = 13;
    let n = task.objects.len();
    if state.len() != ROBOT + PER_OBJECT * n {
        return Err(GenError::Invalid(format!(
            "a '{}' state has {} values, this one has {}",
            task.id,
            ROBOT + PER_OBJECT * n,
            state.len()
        )));
    }
    Ok((0..n)
        .map(|i| {
            let o = &state[ROBOT + PER_OBJECT * i..];
            Pose::new(
                Vec3::new(o[0], o[1], o[2]),
                Quat([o[3], o[4], o[5], o[6]]).normalized(),
            )
        })
        .collect())
}

/// Replay absolute actions (`[x, y, z, qx, qy, qz, qw, gripper]`-style targets with the
/// gripper closed when the last value is positive) from the scene of `state0` in a
/// fresh world, with an optional dynamics plan; returns whether the task succeeded.
pub fn replay_actions(
    task: &Task,
    state0: &[f64],
    actions: &[(Pose, bool)],
    plan: Option<(&DynamicsPlan, &[(usize, f64)])>,
) -> Result<bool, GenError> {
    let poses = object_poses_from_state(task, state0)?;
    let mut world = PandaWorld::with_poses(task, PhysicsSettings::default(), &poses)?;
    let mut tracker = SuccessTracker::new(task);
    let mut ok = false;
    for (k, (target, closed)) in actions.iter().enumerate() {
        if let Some((plan, phases)) = plan {
            let (s, ph) = phases.get(k).copied().unwrap_or((usize::MAX, 0.0));
            plan.apply(&mut world, s, ph);
        }
        world.command(target, *closed)?;
        world.step()?;
        ok = tracker.update(task, &world);
    }
    Ok(ok && task.predicate(&world.object_poses(), world.grasped_object()))
}

// ------------------------------------------------------------------ assembly

/// The end of a streamed file: the bytes to append, and the superblock for offset 0.
pub type StreamEnd = (Vec<u8>, [u8; 48]);

/// Builds the dataset from attempts delivered in index order: counts every attempt in
/// the statistics and keeps the first `episodes` successful ones.
pub struct DatasetAssembler {
    writer: DatasetWriter,
    /// The failed attempts' file, when they are kept apart.
    failed: Option<DatasetWriter>,
    stats: GenerationStats,
    method: &'static str,
    variant: &'static str,
    want: u64,
    budget: u64,
    next: u64,
}

impl DatasetAssembler {
    pub fn new(config: &GenerationConfig) -> Result<Self, GenError> {
        Ok(DatasetAssembler {
            writer: DatasetWriter::new(config)?,
            failed: None,
            stats: GenerationStats::default(),
            method: config.method.as_str(),
            variant: config.variant.as_str(),
            want: u64::from(config.episodes),
            budget: config.attempt_budget(),
            next: 0,
        })
    }

    /// Also write every failed attempt (as far as it ran, with its failure reason and the
    /// step it stopped at) into a second file in the same layout, like MimicGen's
    /// `demo_failed.hdf5`; see [`DatasetAssembler::take_failed_output`]. Attempts that
    /// failed before their first step (a scene the physics refused) have nothing to write,
    /// and one whose recorded state is not finite (the physics diverged) is left out.
    pub fn keeping_failed(mut self, config: &GenerationConfig) -> Result<Self, GenError> {
        self.failed = Some(DatasetWriter::new(config)?);
        Ok(self)
    }

    /// The failed-attempts file's bytes encoded since the last call (empty when failed
    /// attempts are not kept); it is streamed like the main file.
    pub fn take_failed_output(&mut self) -> Vec<u8> {
        self.failed
            .as_mut()
            .map(|w| w.take_output())
            .unwrap_or_default()
    }

    /// End the failed-attempts file: the bytes to append and its superblock (`None` when
    /// failed attempts are not kept). Call before [`DatasetAssembler::finish_streaming`].
    pub fn finish_failed_streaming(&mut self) -> Result<Option<StreamEnd>, GenError> {
        let Some(w) = self.failed.take() else {
            return Ok(None);
        };
        let mut stats = self.stats.clone();
        stats.seconds = 0.0;
        Ok(Some(w.finish_streaming(&stats)?))
    }

    /// Whether enough episodes are kept or the attempt budget is spent.
    pub fn is_done(&self) -> bool {
        self.stats.kept >= self.want || self.stats.attempts >= self.budget
    }

    /// Add the next attempt (its index must be the number of attempts added so far).
    /// Returns [`DatasetAssembler::is_done`].
    pub fn push(&mut self, attempt: &Attempt) -> Result<bool, GenError> {
        if attempt.index != self.next {
            return Err(GenError::Invalid(format!(
                "attempt {} delivered out of order (expected {})",
                attempt.index, self.next
            )));
        }
        if self.is_done() {
            return Ok(true);
        }
        self.next += 1;
        self.stats.record(
            self.method,
            self.variant,
            attempt.failure.map(|f| f.as_str()),
        );
        if attempt.success {
            self.writer.add_episode(&attempt.episode)?;
            self.stats.kept += 1;
        } else if let Some(w) = self.failed.as_mut() {
            if !attempt.episode.steps.is_empty() {
                let reason = attempt.failure.map_or("unknown", |f| f.as_str());
                // A failure the writer refuses (NaN state after the physics diverged)
                // is left out of this file; it never stops the run.
                let _ = w.add_failed_episode(&attempt.episode, reason);
            }
        }
        Ok(self.is_done())
    }

    /// [`DatasetAssembler::push`] from [`Attempt::to_bytes`] output.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<bool, GenError> {
        let a = Attempt::from_bytes(bytes)?;
        self.push(&a)
    }

    pub fn stats(&self) -> &GenerationStats {
        &self.stats
    }

    /// Attempts added so far.
    pub fn attempts(&self) -> u64 {
        self.next
    }

    /// Bytes of the file produced so far (see [`DatasetWriter::bytes_written`]).
    pub fn bytes_written(&self) -> u64 {
        self.writer.bytes_written()
    }

    /// The file bytes encoded since the last call, to append (see
    /// [`DatasetWriter::take_output`]); the file starts with a 48-byte superblock that
    /// [`DatasetAssembler::finish_streaming`] returns.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.writer.take_output()
    }

    /// The HDF5 file in memory (only if [`DatasetAssembler::take_output`] was never
    /// called). The statistics stored inside carry `seconds = 0`, so the bytes depend only
    /// on the configuration and the demo, never on timing.
    pub fn finish(self) -> Result<Vec<u8>, GenError> {
        let mut stats = self.stats;
        stats.seconds = 0.0;
        Ok(self.writer.finish(&stats)?)
    }

    /// End a streamed file: the bytes to append after every `take_output`, and the
    /// superblock to write at offset 0 (see [`DatasetWriter::finish_streaming`]).
    pub fn finish_streaming(self) -> Result<(Vec<u8>, [u8; 48]), GenError> {
        let mut stats = self.stats;
        stats.seconds = 0.0;
        Ok(self.writer.finish_streaming(&stats)?)
    }
}

#[cfg(test)]
mod tests;

// ------------------------------------------------------------------ source demos

/// A dataset of scripted source demonstrations ([`source_demos_dataset`]).
pub struct SourceDemos {
    /// The robomimic file, in the same layout as a generated one.
    pub bytes: Vec<u8>,
    /// The recorder seeds of the episodes, in file order (`demo_i` has `seeds[i]`).
    pub seeds: Vec<u64>,
    /// Seeds whose script did not achieve the task (skipped).
    pub skipped: Vec<u64>,
}

/// Seeds tried per requested demo before giving up.
const SOURCE_SEED_TRIES: u64 = 4;

/// `count` scripted demonstrations of `config.task`, from the recorder seeds `0, 1, ...`
/// (seed 0's is the built-in demo), written as a robomimic file in the layout of a
/// generated dataset: the "N human demos" baseline of a policy comparison. The scenes
/// are static whatever `config.variant` says (a person demonstrates in a still scene);
/// `config.actions` and `config.valid_fraction` apply. Seeds whose script fails are
/// skipped and reported.
pub fn source_demos_dataset(
    config: &GenerationConfig,
    count: u32,
) -> Result<SourceDemos, GenError> {
    use crate::task::scripted::scripted_episode;
    let mut config = config.clone();
    config.variant = Variant::Static;
    config.method = Method::Dmg;
    config.episodes = count;
    config.demo = DemoRef::Builtin {
        id: config.task.clone(),
    };
    config.validate()?;
    let task = config.build_task()?;
    let mut writer = DatasetWriter::new(&config)?;
    let mut stats = GenerationStats::default();
    let (mut seeds, mut skipped) = (Vec::new(), Vec::new());
    let mut seed = 0u64;
    while seeds.len() < count as usize {
        if seed >= u64::from(count) * SOURCE_SEED_TRIES {
            return Err(GenError::Invalid(format!(
                "the scripted recorder of '{}' succeeded for only {} of {} seeds",
                config.task,
                seeds.len(),
                seed
            )));
        }
        let poses = task.sample_object_poses(&mut Rng::new(seed));
        match scripted_episode(
            &task,
            &poses,
            &PhysicsSettings::default(),
            &DynamicsPlan::none(),
        ) {
            Ok((_, mut ep)) => {
                ep.attempt = seed;
                ep.seed = seed;
                writer.add_episode(&ep)?;
                stats.record("scripted", "static", None);
                seeds.push(seed);
            }
            Err(_) => {
                stats.record("scripted", "static", Some("scripted_failure"));
                skipped.push(seed);
            }
        }
        seed += 1;
    }
    stats.kept = seeds.len() as u64;
    Ok(SourceDemos {
        bytes: writer.finish(&stats)?,
        seeds,
        skipped,
    })
}

/// Check that `bytes` (the file `name`) is the demo file `config` pins by SHA-256.
fn check_demo_file(config: &GenerationConfig, bytes: &[u8], name: &str) -> Result<(), GenError> {
    let DemoRef::Sha256 { sha256, .. } = &config.demo else {
        return Err(GenError::Invalid(format!(
            "a demo file ('{name}') was given but the configuration's demo is not an uploaded file"
        )));
    };
    let got = crate::config::sha256_hex(bytes);
    if &got != sha256 {
        return Err(GenError::Invalid(format!(
            "'{name}' is not the demo this configuration was made with (its SHA-256 is {got}, expected {sha256}); upload the same file"
        )));
    }
    Ok(())
}

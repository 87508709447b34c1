//! The task suite as data: objects (shapes, sizes, masses, friction), fixed
//! fixtures, the reset distribution, the subtask outline, the success
//! predicate and a default camera.
//!
//! Task ids: `lift`, `stack`, `square`, `pick_place`, `conveyor` (see [`Task::by_id`]).
//! Frames follow [`crate::geom`]: z up, table surface at z = 0, the arm base at
//! the origin, objects around x ~ 0.5 m. An object's pose is the pose of its
//! body frame; each part of its collider is placed in that frame.
//!
//! Success is judged over time by a [`SuccessTracker`]: the task's predicate must
//! hold continuously for [`Task::hold_time`] seconds (for placing tasks that
//! includes "the object is no longer held").
//!
//! Submodules: [`dynamics`] (moving objects and targets, per-episode plans) and
//! [`scripted`] (the built-in scripted demonstrations).

pub mod dynamics;
pub mod scripted;
mod validate;

pub use dynamics::{DynamicsConfig, DynamicsPlan, DynamicsVariant};
pub use scripted::{scripted_demo, GoalSpec, PhaseSpec};
pub use validate::MAX_TASK_BYTES;

use crate::geom::{m, Pose, Quat, Vec3};
use crate::rng::Rng;
use crate::sim::{World, CONTROL_DT};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Ids of every built-in task, in display order.
pub const TASK_IDS: [&str; 8] = [
    "lift",
    "stack",
    "square",
    "pick_place",
    "conveyor",
    "mug_cleanup",
    "stack_three",
    "hammer_cleanup",
];

/// The text of a built-in task's file (`public/tasks/<id>.json`). Native builds and the
/// page's on-demand module compile them in (a few KB each); the page's first module does
/// not (its size budget): the page fetches them with the built-in demos and hands them
/// over with [`register_builtin_task`] before opening a session.
#[cfg(not(all(target_arch = "wasm32", not(feature = "web-extras"))))]
pub fn builtin_task_json(id: &str) -> Option<&'static str> {
    Some(match id {
        "lift" => include_str!("../../public/tasks/lift.json"),
        "stack" => include_str!("../../public/tasks/stack.json"),
        "square" => include_str!("../../public/tasks/square.json"),
        "pick_place" => include_str!("../../public/tasks/pick_place.json"),
        "conveyor" => include_str!("../../public/tasks/conveyor.json"),
        "mug_cleanup" => include_str!("../../public/tasks/mug_cleanup.json"),
        "stack_three" => include_str!("../../public/tasks/stack_three.json"),
        "hammer_cleanup" => include_str!("../../public/tasks/hammer_cleanup.json"),
        _ => return None,
    })
}

#[cfg(all(target_arch = "wasm32", not(feature = "web-extras")))]
static REGISTERED_TASKS: std::sync::Mutex<Vec<(&'static str, &'static str)>> =
    std::sync::Mutex::new(Vec::new());

/// The text of a built-in task's file, as registered by the page.
#[cfg(all(target_arch = "wasm32", not(feature = "web-extras")))]
pub fn builtin_task_json(id: &str) -> Option<&'static str> {
    let tasks = REGISTERED_TASKS.lock().unwrap_or_else(|e| e.into_inner());
    tasks.iter().find(|(k, _)| *k == id).map(|(_, v)| *v)
}

/// Register the text of built-in task `id`'s file (the page's first module; one
/// registration per id and instance). Unknown ids and files that are not that task are
/// refused.
#[cfg(all(target_arch = "wasm32", not(feature = "web-extras")))]
pub fn register_builtin_task(id: &str, json: String) -> Result<(), TaskError> {
    let Some(&id) = TASK_IDS.iter().find(|k| **k == id) else {
        return Err(TaskError::UnknownTask(id.into()));
    };
    let task = Task::from_json(&json)?;
    if task.id != id {
        return Err(TaskError::Invalid {
            field: "id".into(),
            message: format!("'{}' is not the built-in task '{id}'", task.id),
        });
    }
    let mut tasks = REGISTERED_TASKS.lock().unwrap_or_else(|e| e.into_inner());
    if !tasks.iter().any(|(k, _)| *k == id) {
        tasks.push((id, Box::leak(json.into_boxed_str())));
    }
    Ok(())
}

/// The geometry of one collider part, in its object's frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PartShape {
    /// Box with half extents along local x, y, z (m).
    Cuboid { half_extents: Vec3 },
    /// Cylinder along local z (m).
    Cylinder { half_height: f64, radius: f64 },
    /// Ball (m).
    Sphere { radius: f64 },
}

impl PartShape {
    pub fn volume(&self) -> f64 {
        match self {
            PartShape::Cuboid { half_extents: h } => 8.0 * h.x() * h.y() * h.z(),
            PartShape::Cylinder {
                half_height,
                radius,
            } => std::f64::consts::PI * radius * radius * 2.0 * half_height,
            PartShape::Sphere { radius } => 4.0 / 3.0 * std::f64::consts::PI * radius.powi(3),
        }
    }
}

/// A collider part placed in its object's frame. In a task file a part is its shape's
/// fields with optional `pos` and `quat` (`x y z w`) in the object's frame:
/// `{"type": "cuboid", "half_extents": [0.02, 0.02, 0.01], "pos": [0.03, 0, 0]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "PartRepr", try_from = "PartRepr")]
pub struct Part {
    pub shape: PartShape,
    pub offset: Pose,
}

fn is_zero_vec(v: &Vec3) -> bool {
    *v == Vec3::ZERO
}

/// A part as written in a task file (see [`Part`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum PartRepr {
    Cuboid {
        half_extents: Vec3,
        #[serde(default, skip_serializing_if = "is_zero_vec")]
        pos: Vec3,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quat: Option<Quat>,
    },
    Cylinder {
        half_height: f64,
        radius: f64,
        #[serde(default, skip_serializing_if = "is_zero_vec")]
        pos: Vec3,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quat: Option<Quat>,
    },
    Sphere {
        radius: f64,
        #[serde(default, skip_serializing_if = "is_zero_vec")]
        pos: Vec3,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quat: Option<Quat>,
    },
}

impl From<Part> for PartRepr {
    fn from(p: Part) -> PartRepr {
        let pos = p.offset.pos;
        let quat = (p.offset.quat != Quat::IDENTITY).then_some(p.offset.quat);
        match p.shape {
            PartShape::Cuboid { half_extents } => PartRepr::Cuboid {
                half_extents,
                pos,
                quat,
            },
            PartShape::Cylinder {
                half_height,
                radius,
            } => PartRepr::Cylinder {
                half_height,
                radius,
                pos,
                quat,
            },
            PartShape::Sphere { radius } => PartRepr::Sphere { radius, pos, quat },
        }
    }
}

impl TryFrom<PartRepr> for Part {
    type Error = String;
    fn try_from(r: PartRepr) -> Result<Part, String> {
        let (shape, pos, quat) = match r {
            PartRepr::Cuboid {
                half_extents,
                pos,
                quat,
            } => (PartShape::Cuboid { half_extents }, pos, quat),
            PartRepr::Cylinder {
                half_height,
                radius,
                pos,
                quat,
            } => (
                PartShape::Cylinder {
                    half_height,
                    radius,
                },
                pos,
                quat,
            ),
            PartRepr::Sphere { radius, pos, quat } => (PartShape::Sphere { radius }, pos, quat),
        };
        Ok(Part {
            shape,
            offset: Pose::new(pos, quat.unwrap_or(Quat::IDENTITY)),
        })
    }
}

/// A movable task object (a dynamic rigid body). Its yaw symmetry (a cube's quarter
/// turns, a cylinder's any turn) follows from its parts
/// ([`crate::generate::yaw_symmetry`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    pub name: String,
    /// One or more parts forming a compound collider (e.g. a nut with a hole).
    pub parts: Vec<Part>,
    /// Total mass (kg), shared among the parts by volume.
    pub mass: f64,
    /// Coulomb friction coefficient of the object's surfaces.
    pub friction: f64,
    /// sRGB colour and alpha.
    pub color: [u8; 4],
    /// A fixed body (a cabinet): placed at its reset pose, never moves.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
    /// A body sliding on a prismatic joint in another object (a drawer in its cabinet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joint: Option<SlideJoint>,
}

/// A prismatic joint holding an object in its `parent` (a fixed object): the object's
/// pose is `parent * origin * translation(axis * q)`, with the opening `q` (m) within
/// `range`, `q = 0` closed. It slides only by physics (contacts and the joint), with
/// viscous `damping` (N s/m) and Coulomb `friction` (N) in the joint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlideJoint {
    pub parent: String,
    /// The object's pose in the parent's frame when closed.
    pub origin: Pose,
    /// Unit opening direction in the parent's frame.
    pub axis: Vec3,
    pub range: [f64; 2],
    pub damping: f64,
    pub friction: f64,
}

impl SlideJoint {
    /// The jointed object's pose for opening `q` with its parent at `parent`.
    pub fn pose_at(&self, parent: &Pose, q: f64) -> Pose {
        let open = Pose::from_pos(self.axis * q);
        parent.compose(&open).compose(&self.origin)
    }

    /// The opening (m) of an object at `pose` with its parent at `parent`.
    pub fn opening(&self, parent: &Pose, pose: &Pose) -> f64 {
        let local = pose.pos - parent.compose(&self.origin).pos;
        parent.quat.conj().rotate(local).dot(self.axis)
    }
}

impl ObjectSpec {
    /// Radius of the object's footprint around its origin in the xy plane (m),
    /// used to keep sampled objects apart.
    pub fn footprint_radius(&self) -> f64 {
        let mut r: f64 = 0.0;
        for p in &self.parts {
            let c = Vec3::new(p.offset.pos.x(), p.offset.pos.y(), 0.0).norm();
            let extent = match &p.shape {
                PartShape::Cuboid { half_extents: h } => m::sqrt(h.x() * h.x() + h.y() * h.y()),
                PartShape::Cylinder { radius, .. } | PartShape::Sphere { radius } => *radius,
            };
            r = r.max(c + extent);
        }
        r
    }

    /// Lowest point of the object below its origin when upright (m, >= 0).
    pub fn bottom_depth(&self) -> f64 {
        let mut d: f64 = 0.0;
        for p in &self.parts {
            let h = match &p.shape {
                PartShape::Cuboid { half_extents } => half_extents.z(),
                PartShape::Cylinder { half_height, .. } => *half_height,
                PartShape::Sphere { radius } => *radius,
            };
            d = d.max(h - p.offset.pos.z());
        }
        d
    }

    /// Distance (m) from world point `p` to the surface of this object at `pose`: the
    /// nearest of its parts, 0 inside one. Segmentation measures the hand against an
    /// object's geometry with it (a drawer's handle, not the drawer's origin).
    pub fn surface_distance(&self, pose: &Pose, p: Vec3) -> f64 {
        let local = pose.inverse().transform_point(p);
        self.parts
            .iter()
            .map(|part| {
                let q = part.offset.inverse().transform_point(local);
                match &part.shape {
                    PartShape::Cuboid { half_extents: h } => {
                        let d = |v: f64, e: f64| (v.abs() - e).max(0.0);
                        Vec3::new(d(q.x(), h.x()), d(q.y(), h.y()), d(q.z(), h.z())).norm()
                    }
                    PartShape::Cylinder {
                        half_height,
                        radius,
                    } => {
                        let r = (m::sqrt(q.x() * q.x() + q.y() * q.y()) - radius).max(0.0);
                        let z = (q.z().abs() - half_height).max(0.0);
                        m::sqrt(r * r + z * z)
                    }
                    PartShape::Sphere { radius } => (q.norm() - radius).max(0.0),
                }
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// Highest point of the object above its origin when upright (m).
    pub fn top_height(&self) -> f64 {
        let mut t = f64::MIN;
        for p in &self.parts {
            let h = match &p.shape {
                PartShape::Cuboid { half_extents } => half_extents.z(),
                PartShape::Cylinder { half_height, .. } => *half_height,
                PartShape::Sphere { radius } => *radius,
            };
            t = t.max(p.offset.pos.z() + h);
        }
        t
    }
}

/// A fixed body of the scene besides the table (e.g. a conveyor belt).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureSpec {
    pub name: String,
    pub parts: Vec<Part>,
    pub pose: Pose,
    pub friction: f64,
    /// Velocity of the surface (m/s, world frame): a belt carries what rests on it.
    #[serde(default)]
    pub surface_velocity: Vec3,
    pub color: [u8; 4],
}

/// Uniform reset distribution of one object: x, y and yaw ranges (m, rad); the
/// object rests upright with its origin at height `z`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectReset {
    pub x: [f64; 2],
    pub y: [f64; 2],
    pub yaw: [f64; 2],
    pub z: f64,
}

/// How widely objects are spread at reset: MimicGen's levels. `d0` is each task's own
/// distribution (close to MimicGen's D0); `d1` and `d2` are MimicGen's published ranges
/// (its `Stack_D1`, `Square_D1`, `Square_D2` environments), for the tasks that have them.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ResetLevel {
    #[default]
    D0,
    D1,
    D2,
}

impl ResetLevel {
    pub const ALL: [ResetLevel; 3] = [ResetLevel::D0, ResetLevel::D1, ResetLevel::D2];

    pub fn as_str(self) -> &'static str {
        match self {
            ResetLevel::D0 => "d0",
            ResetLevel::D1 => "d1",
            ResetLevel::D2 => "d2",
        }
    }

    pub fn parse(s: &str) -> Option<ResetLevel> {
        ResetLevel::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn is_d0(&self) -> bool {
        *self == ResetLevel::D0
    }
}

/// Object sizes: this tool's own (default) or robosuite's, so that the place goals of a
/// demo recorded in robosuite (MimicGen's datasets) land where they did there.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Geometry {
    #[default]
    Playground,
    /// robosuite's: Stack's cubeA 4 cm and cubeB 5 cm (`Stack`'s `BoxObject`s, half sizes
    /// 0.02 and 0.025); Square's nut (`SquareNutObject`: 8.75 cm outer, 4.55 cm hole, handle
    /// centre 5.4 cm out) and peg post (3.2 cm square, `peg1`).
    Robosuite,
}

impl Geometry {
    pub const ALL: [Geometry; 2] = [Geometry::Playground, Geometry::Robosuite];

    pub fn as_str(self) -> &'static str {
        match self {
            Geometry::Playground => "playground",
            Geometry::Robosuite => "robosuite",
        }
    }

    pub fn parse(s: &str) -> Option<Geometry> {
        Geometry::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn is_playground(&self) -> bool {
        *self == Geometry::Playground
    }
}

/// What a subtask does with its reference object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubtaskKind {
    /// Reach and close the gripper on the object.
    Grasp,
    /// Carry the held object to a pose relative to the reference object and release it.
    Place,
    /// Raise the held object.
    Lift,
    /// Open a jointed object without holding it (hook the drawer's handle and pull).
    Pull,
    /// Close a jointed object without holding it (push the drawer shut).
    Push,
}

/// One entry of the subtask outline: a stretch of motion that ends at a pose
/// defined relative to `object`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubtaskSpec {
    pub name: String,
    /// Name of the reference object.
    pub object: String,
    pub kind: SubtaskKind,
    /// When a place subtask is done (default: the task's success predicate without the
    /// conditions later subtasks establish). A task that places more than once (Stack
    /// Three) says what each place achieves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<SuccessSpec>,
}

/// The success predicate of a task (checked on the world's true state).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SuccessSpec {
    /// `object`'s origin is at least `height` above its resting height `rest_z`.
    Lifted {
        object: String,
        rest_z: f64,
        height: f64,
    },
    /// `top` rests on `bottom` (centred within `xy_tol`, height within 1.5 cm of
    /// touching) and is not held.
    Stacked {
        top: String,
        bottom: String,
        xy_tol: f64,
    },
    /// MimicGen's nut-on-peg test: `nut` within `xy_tol` of `peg` in x, y and its
    /// origin below `max_z`; not held.
    OnPeg {
        nut: String,
        peg: String,
        xy_tol: f64,
        max_z: f64,
    },
    /// `object`'s origin is inside the bin's inner rectangle (half extents
    /// `inner_half`, bin frame) and below the bin's wall top `wall_top` (bin frame z);
    /// not held.
    InBin {
        object: String,
        bin: String,
        inner_half: [f64; 2],
        wall_top: f64,
    },
    /// Mug Cleanup's test: `object` stands upright (tilt under 0.35 rad) inside the
    /// `drawer`'s rectangle (half extents `inner_half`, drawer frame) below `wall_top`,
    /// the drawer is closed (opening at most `closed_tol`), and nothing is held.
    InClosedDrawer {
        object: String,
        drawer: String,
        inner_half: [f64; 2],
        wall_top: f64,
        closed_tol: f64,
    },
    /// `object`'s origin within `tol` of the world point `pos`; not held.
    Near { object: String, pos: Vec3, tol: f64 },
    /// Every predicate of `all` holds.
    All { all: Vec<SuccessSpec> },
}

/// Default camera of a task's view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    pub eye: Vec3,
    pub target: Vec3,
    /// Vertical field of view (degrees).
    pub fov_deg: f64,
}

/// Deserialise an optional task (a configuration's `custom_task`) through
/// [`Task::from_value`], the one parser of tasks.
pub fn deserialize_custom_task<'de, D>(d: D) -> Result<Option<Box<Task>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let v: Option<serde_json::Value> = Deserialize::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => Task::from_value(v)
            .map(|t| Some(Box::new(t)))
            .map_err(serde::de::Error::custom),
    }
}

/// The task file format this tool writes and reads (`"dmgen_task": 1`).
pub const TASK_FORMAT: u32 = 1;

fn task_format() -> u32 {
    TASK_FORMAT
}

/// A manipulation task, entirely described by data: what a task file holds
/// (docs/tasks.md, `public/task.schema.json`). The built-in tasks are such files
/// (`public/tasks/<id>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The file format's version ([`TASK_FORMAT`]).
    #[serde(rename = "dmgen_task", default = "task_format")]
    pub format: u32,
    pub id: String,
    pub description: String,
    /// Task objects; this order is the order of every pose array.
    pub objects: Vec<ObjectSpec>,
    /// Fixed scene parts besides the table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixtures: Vec<FixtureSpec>,
    /// Reset distribution, one per object (level `d0`).
    pub reset: Vec<ObjectReset>,
    /// The wider reset levels (`d1`, `d2`: MimicGen's ranges), one reset per object each.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reset_levels: BTreeMap<ResetLevel, Vec<ObjectReset>>,
    /// Horizontal gap kept between objects' footprints at reset (m).
    pub min_gap: f64,
    /// Ordered subtasks.
    pub subtasks: Vec<SubtaskSpec>,
    pub success: SuccessSpec,
    /// How long the success predicate must hold (s).
    pub hold_time: f64,
    /// Suggested episode length (s).
    pub horizon: f64,
    pub camera: CameraSpec,
    /// The columns of the datasets' `object` key (robosuite's object-state for the task);
    /// empty: the default per-object pattern ([`crate::export::layout`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_state: Vec<StateColumn>,
    /// Other names of the objects (MimicGen's `square_nut` for `nut`): demos from files
    /// that use them need no `object_map`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, String>,
    /// Object sizes of other simulators (`robosuite`), for demos recorded there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub geometries: BTreeMap<Geometry, GeometryVariant>,
    /// The scripted demonstration: phases a scripted teleoperator drives
    /// ([`scripted`]); empty: the task has none (record one by teleoperation or upload).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub script: Vec<scripted::PhaseSpec>,
}

/// A task's objects at another simulator's sizes: objects replaced by name, and their
/// rest heights (`rest_z`, m) at every level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeometryVariant {
    pub objects: Vec<ObjectSpec>,
    #[serde(default)]
    pub rest_z: BTreeMap<String, f64>,
}

/// One column group of the `object` observation: its name (robosuite's) and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateColumn {
    pub name: String,
    pub value: StateValue,
}

/// What an `object` column holds (positions in the world frame, quaternions `x y z w`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StateValue {
    /// The object's position.
    Pos { object: String },
    /// The object's orientation.
    Quat { object: String },
    /// Hand position minus the object's (robosuite 1.4's `gripper_to_cube_pos`).
    HandMinus { object: String },
    /// The object's position minus the hand's (`gripper_to_cubeA`).
    MinusHand { object: String },
    /// `to`'s position minus `from`'s (`cubeA_to_cubeB`).
    Diff { from: String, to: String },
    /// The object's position in the hand's frame (`nut_to_robot0_eef_pos`).
    InHandPos { object: String },
    /// The object's orientation in the hand's frame.
    InHandQuat { object: String },
    /// The opening of the object's slide joint (m, 0 closed).
    Joint { object: String },
}

impl StateValue {
    /// The objects this value names.
    pub fn objects(&self) -> Vec<&str> {
        match self {
            StateValue::Pos { object }
            | StateValue::Quat { object }
            | StateValue::HandMinus { object }
            | StateValue::MinusHand { object }
            | StateValue::InHandPos { object }
            | StateValue::InHandQuat { object }
            | StateValue::Joint { object } => vec![object],
            StateValue::Diff { from, to } => vec![from, to],
        }
    }

    pub fn is_joint(&self) -> bool {
        matches!(self, StateValue::Joint { .. })
    }
}

/// Errors of task lookup and data.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskError {
    UnknownTask(String),
    UnknownObject(String),
    /// The task has no reset distribution at this level.
    NoResetLevel {
        task: String,
        level: ResetLevel,
        levels: Vec<ResetLevel>,
    },
    /// A task file that is not JSON of a task (syntax, a missing or unknown field, a
    /// value of the wrong type), at `line` and `column` (1-based).
    Parse {
        message: String,
        line: usize,
        column: usize,
    },
    /// A task whose `field` holds a value that cannot be used.
    Invalid {
        field: String,
        message: String,
    },
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::UnknownTask(id) => {
                write!(f, "unknown task '{id}' (known: {})", TASK_IDS.join(", "))
            }
            TaskError::UnknownObject(n) => write!(f, "the task has no object named '{n}'"),
            TaskError::NoResetLevel {
                task,
                level,
                levels,
            } => write!(
                f,
                "task '{task}' has no reset level {} (MimicGen publishes none for it); its levels: {}",
                level.as_str(),
                levels
                    .iter()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TaskError::Parse {
                message,
                line,
                column,
            } if *line > 0 => write!(f, "task file, line {line} column {column}: {message}"),
            TaskError::Parse { message, .. } => write!(f, "task file: {message}"),
            TaskError::Invalid { field, message } => write!(f, "task file, {field}: {message}"),
        }
    }
}

impl std::error::Error for TaskError {}

/// The conveyor task's belt speed (m/s; its file's `surface_velocity`): the default
/// of a configuration's `dynamics.belt_speed_mps`.
pub const BELT_SPEED: f64 = 0.04;

impl Task {
    /// This task with every moving surface (the conveyor belt) running at `speed` m/s in
    /// its direction; a task without one is unchanged.
    pub fn with_belt_speed(mut self, speed: f64) -> Task {
        for f in &mut self.fixtures {
            let v = f.surface_velocity.norm();
            if v > 0.0 {
                f.surface_velocity = f.surface_velocity * (speed / v);
            }
        }
        self
    }

    /// The built-in task with this id, read from its file (`public/tasks/<id>.json`).
    pub fn by_id(id: &str) -> Result<Task, TaskError> {
        let text = builtin_task_json(id).ok_or_else(|| TaskError::UnknownTask(id.into()))?;
        Task::from_json(text)
    }

    /// Read and check a task file's JSON text.
    pub fn from_json(text: &str) -> Result<Task, TaskError> {
        if text.len() > MAX_TASK_BYTES {
            return Err(TaskError::Invalid {
                field: "(file)".into(),
                message: format!(
                    "{} bytes is more than a task file may have ({MAX_TASK_BYTES})",
                    text.len()
                ),
            });
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| TaskError::Parse {
                message: e.to_string(),
                line: e.line(),
                column: e.column(),
            })?;
        let task = Task::from_value(value)?;
        validate::validate(&task)?;
        Ok(task)
    }

    /// A task from parsed JSON, unchecked. Every path into a task goes through this one
    /// deserialisation (from a JSON value), which keeps one copy of the task's parser in
    /// the page's module instead of one per JSON reader.
    pub fn from_value(value: serde_json::Value) -> Result<Task, TaskError> {
        serde_json::from_value(value).map_err(|e| TaskError::Parse {
            message: e.to_string(),
            line: 0,
            column: 0,
        })
    }

    /// Check every field (what [`Task::from_json`] does after parsing).
    pub fn validate(&self) -> Result<(), TaskError> {
        validate::validate(self)
    }

    /// The task file's text (pretty JSON, the fields in the format's order).
    pub fn to_json(&self) -> String {
        let pretty = serde_json::to_string_pretty(self).unwrap_or_default();
        let mut s = inline_flat_arrays(&pretty);
        s.push('\n');
        s
    }

    /// The reset distribution of this task at `level` (`None`: the task has none there).
    /// MimicGen's ranges (its `envs/robosuite/stack.py` and `nut_assembly.py`), applied
    /// around [`RESET_CENTRE`]; heights stay this tool's (its objects rest on its table).
    fn level_reset(&self, level: ResetLevel) -> Option<Vec<ObjectReset>> {
        match level {
            ResetLevel::D0 => Some(self.reset.clone()),
            l => self.reset_levels.get(&l).cloned(),
        }
    }

    /// The reset levels this task has.
    pub fn reset_levels(&self) -> Vec<ResetLevel> {
        ResetLevel::ALL
            .into_iter()
            .filter(|l| self.level_reset(*l).is_some())
            .collect()
    }

    /// This task with its objects reset at `level`.
    pub fn with_reset_level(mut self, level: ResetLevel) -> Result<Task, TaskError> {
        match self.level_reset(level) {
            Some(r) => {
                self.reset = r;
                Ok(self)
            }
            None => Err(TaskError::NoResetLevel {
                task: self.id.clone(),
                level,
                levels: self.reset_levels(),
            }),
        }
    }

    /// This task with `geometry`'s object sizes (apply it after the reset level: the
    /// objects' rest heights follow their sizes).
    pub fn with_geometry(mut self, geometry: Geometry) -> Task {
        let Some(v) = self.geometries.get(&geometry).cloned() else {
            return self;
        };
        for o in v.objects {
            if let Ok(i) = self.object_index(&o.name) {
                self.objects[i] = o;
            }
        }
        for (name, z) in &v.rest_z {
            if let Ok(i) = self.object_index(name) {
                if let Some(r) = self.reset.get_mut(i) {
                    r.z = *z;
                }
            }
        }
        self
    }

    /// This task's name for a demo's object `name`: `map`'s when it has one, else
    /// MimicGen's name for it ([`mimicgen_object_names`]), else `name` itself.
    pub fn demo_object_name<'a>(
        &'a self,
        name: &'a str,
        map: &'a std::collections::BTreeMap<String, String>,
    ) -> &'a str {
        if let Some(to) = map.get(name) {
            return to;
        }
        match self.aliases.get(name) {
            Some(to) => to,
            None => name,
        }
    }

    /// Every built-in task.
    pub fn all() -> Vec<Task> {
        TASK_IDS
            .iter()
            .filter_map(|id| Task::by_id(id).ok())
            .collect()
    }

    /// Index of the object named `name`.
    pub fn object_index(&self, name: &str) -> Result<usize, TaskError> {
        self.objects
            .iter()
            .position(|o| o.name == name)
            .ok_or_else(|| TaskError::UnknownObject(name.into()))
    }

    /// A demo of this task with no samples yet, one empty track per object: what a
    /// recorder (scripted or teleoperated) fills in.
    pub fn empty_demo(&self) -> crate::demo::Demo {
        crate::demo::Demo {
            task: Some(self.id.clone()),
            t: Vec::new(),
            eef: Vec::new(),
            gripper: Vec::new(),
            objects: self
                .objects
                .iter()
                .map(|o| crate::demo::ObjectTrack {
                    name: o.name.clone(),
                    poses: Vec::new(),
                })
                .collect(),
            subtask_term_signals: Vec::new(),
        }
    }

    pub fn object_names(&self) -> Vec<String> {
        self.objects.iter().map(|o| o.name.clone()).collect()
    }

    /// Index of the object picked in the first grasp subtask.
    pub fn picked_object(&self) -> Option<usize> {
        self.subtasks
            .iter()
            .find(|s| s.kind == SubtaskKind::Grasp)
            .and_then(|s| self.object_index(&s.object).ok())
    }

    /// Index of the reference object of the first place subtask (the target).
    pub fn place_target(&self) -> Option<usize> {
        self.subtasks
            .iter()
            .find(|s| s.kind == SubtaskKind::Place)
            .and_then(|s| self.object_index(&s.object).ok())
    }

    /// Draw initial object poses from the reset distribution (same order as
    /// `objects`). Objects are kept `min_gap` apart by rejection sampling.
    pub fn sample_object_poses(&self, rng: &mut Rng) -> Vec<Pose> {
        let mut last = Vec::new();
        for _attempt in 0..200 {
            let poses = self.draw_once(rng);
            if self.first_clash(&poses).is_none() {
                return poses;
            }
            last = poses;
        }
        last
    }

    /// One draw from the reset distribution, jointed objects closed in their parents.
    fn draw_once(&self, rng: &mut Rng) -> Vec<Pose> {
        let mut poses: Vec<Pose> = self
            .reset
            .iter()
            .map(|r| {
                let x = rng.range(r.x[0], r.x[1]);
                let y = rng.range(r.y[0], r.y[1]);
                let yaw = rng.range(r.yaw[0], r.yaw[1]);
                Pose::new(Vec3::new(x, y, r.z), Quat::from_yaw(yaw))
            })
            .collect();
        // A jointed object starts closed in its parent (its own draw is unused).
        self.place_jointed(&mut poses);
        poses
    }

    /// The first pair of objects too close at `poses` (footprints `min_gap` apart), or a
    /// jointed object and one in its way when fully open; `None`: the draw is usable.
    fn first_clash(&self, poses: &[Pose]) -> Option<(usize, usize)> {
        let radii: Vec<f64> = self.objects.iter().map(|o| o.footprint_radius()).collect();
        let jointed = |i: usize| self.objects[i].joint.is_some();
        for i in 0..poses.len() {
            for j in 0..i {
                if jointed(i) || jointed(j) {
                    continue;
                }
                let d = poses[i].pos - poses[j].pos;
                let d = m::sqrt(d.x() * d.x() + d.y() * d.y());
                if d < radii[i] + radii[j] + self.min_gap {
                    return Some((j, i));
                }
            }
        }
        self.open_joint_clash(poses)
    }

    /// Whether every free object stands clear of where each jointed object reaches when
    /// fully open (a drawer must not open into the mug).
    #[cfg(test)]
    fn clear_of_open_joints(&self, poses: &[Pose]) -> bool {
        self.open_joint_clash(poses).is_none()
    }

    /// A jointed object and a free one in its way when it is fully open.
    fn open_joint_clash(&self, poses: &[Pose]) -> Option<(usize, usize)> {
        for (i, o) in self.objects.iter().enumerate() {
            let Some(j) = &o.joint else { continue };
            let Ok(p) = self.object_index(&j.parent) else {
                continue;
            };
            let open = j.pose_at(&poses[p], j.range[1]);
            for (k, other) in self.objects.iter().enumerate() {
                if k == i || k == p || other.joint.is_some() {
                    continue;
                }
                if o.surface_distance(&open, poses[k].pos) <= other.footprint_radius() + 0.005 {
                    return Some((i, k));
                }
            }
        }
        None
    }

    /// Put every jointed object at opening 0 in its parent's pose.
    pub fn place_jointed(&self, poses: &mut [Pose]) {
        for i in 0..self.objects.len().min(poses.len()) {
            if let Some(j) = &self.objects[i].joint {
                if let Ok(p) = self.object_index(&j.parent) {
                    if p < poses.len() {
                        poses[i] = j.pose_at(&poses[p], 0.0);
                    }
                }
            }
        }
    }

    /// The opening (m) of jointed object `i` in `poses` (`None`: it has no joint).
    pub fn opening(&self, i: usize, poses: &[Pose]) -> Option<f64> {
        let j = self.objects.get(i)?.joint.as_ref()?;
        let p = self.object_index(&j.parent).ok()?;
        Some(j.opening(poses.get(p)?, poses.get(i)?))
    }

    /// Whether a pull (push) subtask has opened its object past half its travel (closed
    /// it to within 1 cm).
    pub fn moved_enough(&self, s: &SubtaskSpec, poses: &[Pose]) -> bool {
        let Ok(i) = self.object_index(&s.object) else {
            return false;
        };
        let (Some(q), Some(j)) = (self.opening(i, poses), self.objects[i].joint.as_ref()) else {
            return false;
        };
        match s.kind {
            SubtaskKind::Pull => q >= 0.5 * j.range[1],
            SubtaskKind::Push => q <= j.range[0] + 0.01,
            _ => false,
        }
    }

    /// Whether place subtask `s` is done: its `done` predicate, else the task's success
    /// predicate without the conditions that later subtasks establish (Mug Cleanup: the
    /// mug in the drawer, before it is closed).
    pub fn placed(&self, s: &SubtaskSpec, poses: &[Pose], grasped: Option<usize>) -> bool {
        match &s.done {
            Some(done) => self.holds(done, poses, grasped, true),
            None => self.holds(&self.success, poses, grasped, false),
        }
    }

    /// Whether the success predicate holds for this state (`grasped`: index of
    /// the object held by the gripper, if any).
    pub fn predicate(&self, poses: &[Pose], grasped: Option<usize>) -> bool {
        self.holds(&self.success, poses, grasped, true)
    }

    /// Whether `spec` holds; `closed`: a drawer must also be shut.
    fn holds(
        &self,
        spec: &SuccessSpec,
        poses: &[Pose],
        grasped: Option<usize>,
        closed: bool,
    ) -> bool {
        let idx = |n: &str| self.object_index(n).ok().filter(|&i| i < poses.len());
        match spec {
            SuccessSpec::Lifted {
                object,
                rest_z,
                height,
            } => idx(object).is_some_and(|i| poses[i].pos.z() >= rest_z + height),
            SuccessSpec::Stacked {
                top,
                bottom,
                xy_tol,
            } => {
                let (Some(t), Some(b)) = (idx(top), idx(bottom)) else {
                    return false;
                };
                if grasped == Some(t) {
                    return false;
                }
                let d = poses[t].pos - poses[b].pos;
                let touching = self.objects[t].bottom_depth() + self.objects[b].top_height();
                m::sqrt(d.x() * d.x() + d.y() * d.y()) <= *xy_tol
                    && (d.z() - touching).abs() <= 0.015
            }
            SuccessSpec::OnPeg {
                nut,
                peg,
                xy_tol,
                max_z,
            } => {
                let (Some(n), Some(p)) = (idx(nut), idx(peg)) else {
                    return false;
                };
                if grasped == Some(n) {
                    return false;
                }
                let d = poses[n].pos - poses[p].pos;
                m::sqrt(d.x() * d.x() + d.y() * d.y()) <= *xy_tol
                    && poses[n].pos.z() - poses[p].pos.z() <= *max_z
            }
            SuccessSpec::InBin {
                object,
                bin,
                inner_half,
                wall_top,
            } => {
                let (Some(o), Some(b)) = (idx(object), idx(bin)) else {
                    return false;
                };
                if grasped == Some(o) {
                    return false;
                }
                let local = poses[b].inverse().transform_point(poses[o].pos);
                local.x().abs() <= inner_half[0]
                    && local.y().abs() <= inner_half[1]
                    && local.z() >= 0.0
                    && local.z() <= *wall_top
            }
            SuccessSpec::InClosedDrawer {
                object,
                drawer,
                inner_half,
                wall_top,
                closed_tol,
            } => {
                let (Some(o), Some(d)) = (idx(object), idx(drawer)) else {
                    return false;
                };
                if grasped.is_some() {
                    return false;
                }
                let local = poses[d].inverse().transform_point(poses[o].pos);
                let up = poses[o].quat.rotate(Vec3::new(0.0, 0.0, 1.0));
                let inside = local.x().abs() <= inner_half[0]
                    && local.y().abs() <= inner_half[1]
                    && local.z() >= 0.0
                    && local.z() <= *wall_top
                    && up.z() >= m::cos(0.35);
                inside && (!closed || self.opening(d, poses).is_some_and(|q| q <= *closed_tol))
            }
            SuccessSpec::Near { object, pos, tol } => idx(object)
                .is_some_and(|i| grasped != Some(i) && (poses[i].pos - *pos).norm() <= *tol),
            SuccessSpec::All { all } => all.iter().all(|p| self.holds(p, poses, grasped, closed)),
        }
    }
}

/// `pretty` (serde_json's pretty output) with every array that holds no object or array
/// on one line: `"pos": [0.5, 0.0, 0.03]` rather than five lines.
fn inline_flat_arrays(pretty: &str) -> String {
    let chars: Vec<char> = pretty.chars().collect();
    // The index of the `]` closing the array opened at `open`, when nothing between
    // them opens an array or object (strings skipped).
    let flat_end = |open: usize| -> Option<usize> {
        let (mut in_str, mut escaped) = (false, false);
        for (k, &c) in chars.iter().enumerate().skip(open + 1) {
            if in_str {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '[' | '{' => return None,
                ']' => return Some(k),
                _ => {}
            }
        }
        None
    };
    let mut out = String::with_capacity(pretty.len());
    let (mut in_str, mut escaped) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '[' => {
                let Some(end) = flat_end(i - 1) else { continue };
                // Copy the items, dropping whitespace outside strings.
                let (mut s, mut e) = (false, false);
                for &d in &chars[i..end] {
                    if s {
                        out.push(d);
                        match d {
                            _ if e => e = false,
                            '\\' => e = true,
                            '"' => s = false,
                            _ => {}
                        }
                    } else if d == ',' {
                        out.push_str(", ");
                    } else if !d.is_whitespace() {
                        s = d == '"';
                        out.push(d);
                    }
                }
                out.push(']');
                i = end + 1;
            }
            _ => {}
        }
    }
    out
}

/// Judges success over time: the task predicate must hold for
/// [`Task::hold_time`] seconds in a row. Call [`SuccessTracker::update`] once per
/// control step, after [`World::step`].
#[derive(Clone, Debug, PartialEq)]
pub struct SuccessTracker {
    hold_time: f64,
    held_for: f64,
    success_time: Option<f64>,
}

impl SuccessTracker {
    pub fn new(task: &Task) -> SuccessTracker {
        SuccessTracker {
            hold_time: task.hold_time,
            held_for: 0.0,
            success_time: None,
        }
    }

    /// Update from the world's current state; returns whether the task has
    /// succeeded (once true it stays true).
    pub fn update(&mut self, task: &Task, world: &dyn World) -> bool {
        let ok = task.predicate(&world.object_poses(), world.grasped_object());
        self.update_with(ok, world.time())
    }

    /// Update from a precomputed predicate value at time `t` (s).
    pub fn update_with(&mut self, predicate: bool, t: f64) -> bool {
        if self.success_time.is_none() {
            if predicate {
                self.held_for += CONTROL_DT;
                if self.held_for + 1e-9 >= self.hold_time {
                    self.success_time = Some(t);
                }
            } else {
                self.held_for = 0.0;
            }
        }
        self.success_time.is_some()
    }

    pub fn succeeded(&self) -> bool {
        self.success_time.is_some()
    }

    /// Simulated time at which success was established.
    pub fn success_time(&self) -> Option<f64> {
        self.success_time
    }

    /// How long the predicate has held so far (s).
    pub fn held_for(&self) -> f64 {
        self.held_for
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_id_resolves_and_is_consistent() {
        for id in TASK_IDS {
            let t = Task::by_id(id).unwrap();
            assert_eq!(t.id, id);
            assert_eq!(t.reset.len(), t.objects.len());
            for s in &t.subtasks {
                t.object_index(&s.object).unwrap();
            }
            assert!(t.picked_object().is_some());
        }
        assert!(matches!(
            Task::by_id("juggle"),
            Err(TaskError::UnknownTask(_))
        ));
    }

    #[test]
    fn sampled_poses_respect_ranges_and_gaps() {
        let every_level = Task::all().into_iter().flat_map(|t| {
            t.reset_levels()
                .into_iter()
                .map(move |l| t.clone().with_reset_level(l).unwrap())
        });
        for t in every_level {
            let mut rng = Rng::new(11);
            for _ in 0..50 {
                let poses = t.sample_object_poses(&mut rng);
                assert_eq!(poses.len(), t.objects.len());
                for ((p, r), o) in poses.iter().zip(&t.reset).zip(&t.objects) {
                    if let Some(j) = &o.joint {
                        // Closed in its parent.
                        let parent = poses[t.object_index(&j.parent).unwrap()];
                        assert!((j.pose_at(&parent, 0.0).pos - p.pos).norm() < 1e-12);
                        continue;
                    }
                    assert!(p.pos.x() >= r.x[0] && p.pos.x() <= r.x[1]);
                    assert!(p.pos.y() >= r.y[0] && p.pos.y() <= r.y[1]);
                }
                assert!(
                    t.clear_of_open_joints(&poses),
                    "{}: in a drawer's way",
                    t.id
                );
                for i in 0..poses.len() {
                    for j in 0..i {
                        if t.objects[i].joint.is_some() || t.objects[j].joint.is_some() {
                            continue;
                        }
                        let d = poses[i].pos - poses[j].pos;
                        let d = m::sqrt(d.x() * d.x() + d.y() * d.y());
                        assert!(
                            d >= t.objects[i].footprint_radius() + t.objects[j].footprint_radius(),
                            "{}: objects overlap",
                            t.id
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn reset_levels_are_mimicgens_ranges_on_the_table() {
        let levels = |id: &str| Task::by_id(id).unwrap().reset_levels();
        use ResetLevel::*;
        assert_eq!(levels("stack"), [D0, D1]);
        assert_eq!(levels("square"), [D0, D1, D2]);
        assert_eq!(levels("mug_cleanup"), [D0, D1]);
        for id in ["lift", "pick_place", "conveyor"] {
            assert_eq!(levels(id), [D0]);
            let e = Task::by_id(id).unwrap().with_reset_level(D1).unwrap_err();
            assert!(e.to_string().contains("levels: d0"), "{e}");
        }
        // Stack D1: +-0.20 m around the workspace centre, wider than D0.
        let d1 = Task::by_id("stack").unwrap().with_reset_level(D1).unwrap();
        assert_eq!(d1.reset[0].x, [0.3, 0.7]);
        assert_eq!(d1.reset[1].y, [-0.2, 0.2]);
        // Square D2: the peg turns up to 90 degrees; every range stays on the table.
        let d2 = Task::by_id("square").unwrap().with_reset_level(D2).unwrap();
        assert_eq!(d2.reset[1].yaw, [0.0, 0.5 * std::f64::consts::PI]);
        let mut rng = Rng::new(3);
        let mut spread = 0.0f64;
        for _ in 0..200 {
            for (t, p) in [&d1, &d2].into_iter().flat_map(|t| {
                t.sample_object_poses(&mut rng)
                    .into_iter()
                    .map(move |p| (t, p))
            }) {
                assert!(p.pos.x() > crate::sim::world::TABLE_X[0] + 0.05, "{}", t.id);
                assert!(p.pos.x() < crate::sim::world::TABLE_X[1] - 0.05, "{}", t.id);
                assert!(p.pos.y().abs() < crate::sim::world::TABLE_Y[1] - 0.05);
                spread = spread.max((p.pos.y()).abs());
            }
        }
        assert!(spread > 0.15, "D1/D2 reach beyond D0's +-0.08 m: {spread}");
    }

    #[test]
    fn task_round_trips_through_json() {
        let t = Task::by_id("square").unwrap();
        let s = serde_json::to_string(&t).unwrap();
        let back: Task = serde_json::from_str(&s).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn tracker_requires_the_hold_time() {
        let t = Task::by_id("lift").unwrap();
        let mut tr = SuccessTracker::new(&t);
        assert!(!tr.update_with(true, 0.05));
        assert!(!tr.update_with(false, 0.1));
        let mut ok = false;
        for k in 0..5 {
            ok = tr.update_with(true, 0.15 + 0.05 * k as f64);
        }
        assert!(ok);
        assert!(tr.update_with(false, 1.0), "success is final");
    }

    #[test]
    fn stacked_predicate_needs_contact_and_release() {
        let t = Task::by_id("stack").unwrap();
        let b = Pose::from_pos(Vec3::new(0.5, 0.0, 0.03));
        let a_on = Pose::from_pos(Vec3::new(0.51, 0.0, 0.06 + 0.025));
        let a_above = Pose::from_pos(Vec3::new(0.5, 0.0, 0.2));
        assert!(t.predicate(&[a_on, b], None));
        assert!(!t.predicate(&[a_on, b], Some(0)));
        assert!(!t.predicate(&[a_above, b], None));
    }
}

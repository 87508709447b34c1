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

mod cleanup;
pub mod dynamics;
pub mod scripted;

pub use dynamics::{DynamicsConfig, DynamicsPlan, DynamicsVariant};
pub use scripted::scripted_demo;

use crate::geom::{m, Pose, Quat, Vec3};
use crate::rng::Rng;
use crate::sim::{World, CONTROL_DT};
use serde::{Deserialize, Serialize};

/// Ids of every built-in task, in display order.
pub const TASK_IDS: [&str; 6] = [
    "lift",
    "stack",
    "square",
    "pick_place",
    "conveyor",
    "mug_cleanup",
];

/// The geometry of one collider part, in its object's frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PartShape {
    /// Box with half extents along local x, y, z (m).
    Cuboid { half_extents: Vec3 },
    /// Cylinder along local z (m).
    Cylinder { half_height: f64, radius: f64 },
}

impl PartShape {
    pub fn volume(&self) -> f64 {
        match self {
            PartShape::Cuboid { half_extents: h } => 8.0 * h.x() * h.y() * h.z(),
            PartShape::Cylinder {
                half_height,
                radius,
            } => std::f64::consts::PI * radius * radius * 2.0 * half_height,
        }
    }
}

/// A collider part placed in its object's frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub shape: PartShape,
    #[serde(default)]
    pub offset: Pose,
}

/// A movable task object (a dynamic rigid body).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
                PartShape::Cylinder { radius, .. } => *radius,
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
            };
            t = t.max(p.offset.pos.z() + h);
        }
        t
    }
}

/// A fixed body of the scene besides the table (e.g. a conveyor belt).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
pub struct ObjectReset {
    pub x: [f64; 2],
    pub y: [f64; 2],
    pub yaw: [f64; 2],
    pub z: f64,
}

/// How widely objects are spread at reset: MimicGen's levels. `d0` is each task's own
/// distribution (close to MimicGen's D0); `d1` and `d2` are MimicGen's published ranges
/// (its `Stack_D1`, `Square_D1`, `Square_D2` environments), for the tasks that have them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// The names MimicGen's datasets give a task's objects (`datagen_info/object_poses/<name>`),
/// and this tool's names for them: demos from those files need no `object_map`.
pub fn mimicgen_object_names(task: &str) -> &'static [(&'static str, &'static str)] {
    match task {
        "square" => &[("square_nut", "nut"), ("square_peg", "peg")],
        // Stack's cubeA/cubeB and Lift's cube have the same names in both.
        _ => &[],
    }
}

/// The point MimicGen's reset offsets are applied around (robot base frame, m): the centre
/// of this tool's workspace, which its D0 ranges are centred on. robosuite measures them
/// from its table's centre, 0.56 m in front of the Panda's base; here the workspace centre
/// is 0.50 m in front, so a level's ranges keep MimicGen's widths, 6 cm nearer the robot.
pub const RESET_CENTRE: [f64; 2] = [0.5, 0.0];

/// An object's reset around [`RESET_CENTRE`]: offsets in x and y, yaw range, rest height.
fn around_centre(x: [f64; 2], y: [f64; 2], yaw: [f64; 2], z: f64) -> ObjectReset {
    ObjectReset {
        x: [RESET_CENTRE[0] + x[0], RESET_CENTRE[0] + x[1]],
        y: [RESET_CENTRE[1] + y[0], RESET_CENTRE[1] + y[1]],
        yaw,
        z,
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
pub struct SubtaskSpec {
    pub name: String,
    /// Name of the reference object.
    pub object: String,
    pub kind: SubtaskKind,
}

/// The success predicate of a task (checked on the world's true state).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
}

/// Default camera of a task's view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraSpec {
    pub eye: Vec3,
    pub target: Vec3,
    /// Vertical field of view (degrees).
    pub fov_deg: f64,
}

/// A manipulation task, entirely described by data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub description: String,
    /// Task objects; this order is the order of every pose array.
    pub objects: Vec<ObjectSpec>,
    /// Fixed scene parts besides the table.
    #[serde(default)]
    pub fixtures: Vec<FixtureSpec>,
    /// Reset distribution, one per object.
    pub reset: Vec<ObjectReset>,
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
        }
    }
}

impl std::error::Error for TaskError {}

fn cuboid(hx: f64, hy: f64, hz: f64) -> PartShape {
    PartShape::Cuboid {
        half_extents: Vec3::new(hx, hy, hz),
    }
}

fn part(shape: PartShape, x: f64, y: f64, z: f64) -> Part {
    Part {
        shape,
        offset: Pose::from_pos(Vec3::new(x, y, z)),
    }
}

fn cube(name: &str, size: f64, mass: f64, color: [u8; 4]) -> ObjectSpec {
    let h = 0.5 * size;
    ObjectSpec {
        name: name.into(),
        parts: vec![part(cuboid(h, h, h), 0.0, 0.0, 0.0)],
        mass,
        friction: 0.9,
        color,
        fixed: false,
        joint: None,
    }
}

/// Bin interior half extents (m), wall height above the floor bottom and wall thickness.
const BIN_INNER: f64 = 0.08;
const BIN_WALL: f64 = 0.01;
const BIN_HEIGHT: f64 = 0.07;

/// An open box made of a floor and four walls; origin at the bottom centre.
fn bin(name: &str) -> ObjectSpec {
    let outer = BIN_INNER + BIN_WALL;
    let floor = 0.5 * BIN_WALL;
    let wall_h = 0.5 * BIN_HEIGHT;
    ObjectSpec {
        name: name.into(),
        parts: vec![
            part(cuboid(outer, outer, floor), 0.0, 0.0, floor),
            part(
                cuboid(0.5 * BIN_WALL, outer, wall_h),
                outer - 0.5 * BIN_WALL,
                0.0,
                wall_h,
            ),
            part(
                cuboid(0.5 * BIN_WALL, outer, wall_h),
                -outer + 0.5 * BIN_WALL,
                0.0,
                wall_h,
            ),
            part(
                cuboid(BIN_INNER, 0.5 * BIN_WALL, wall_h),
                0.0,
                outer - 0.5 * BIN_WALL,
                wall_h,
            ),
            part(
                cuboid(BIN_INNER, 0.5 * BIN_WALL, wall_h),
                0.0,
                -outer + 0.5 * BIN_WALL,
                wall_h,
            ),
        ],
        mass: 1.0,
        friction: 0.8,
        color: [120, 130, 150, 255],
        fixed: false,
        joint: None,
    }
}

fn in_bin(object: &str, bin: &str) -> SuccessSpec {
    SuccessSpec::InBin {
        object: object.into(),
        bin: bin.into(),
        inner_half: [BIN_INNER, BIN_INNER],
        wall_top: BIN_HEIGHT,
    }
}

/// Square nut geometry (m): a square ring with a hole and a handle along +x.
pub const NUT_OUTER_HALF: f64 = 0.04;
pub const NUT_HOLE_HALF: f64 = 0.022;
pub const NUT_HALF_THICKNESS: f64 = 0.01;
/// Handle centre along the nut's x axis and its half extents.
pub const NUT_HANDLE_X: f64 = 0.065;
pub const NUT_HANDLE_HALF: [f64; 3] = [0.025, 0.01, 0.01];
/// Square peg: post half width, post top height, base plate half width and thickness (m).
pub const PEG_HALF: f64 = 0.015;
pub const PEG_TOP: f64 = 0.1;
pub const PEG_BASE_HALF: f64 = 0.06;
pub const PEG_BASE_THICKNESS: f64 = 0.01;

/// Square nut and peg dimensions (m), this tool's or robosuite's.
#[derive(Clone, Copy, Debug)]
struct SquareDims {
    nut_outer_half: f64,
    nut_hole_half: f64,
    nut_handle_x: f64,
    peg_half: f64,
}

const SQUARE_PLAYGROUND: SquareDims = SquareDims {
    nut_outer_half: NUT_OUTER_HALF,
    nut_hole_half: NUT_HOLE_HALF,
    nut_handle_x: NUT_HANDLE_X,
    peg_half: PEG_HALF,
};

/// robosuite's `SquareNutObject` and `peg1` (half sizes).
const SQUARE_ROBOSUITE: SquareDims = SquareDims {
    nut_outer_half: 0.04375,
    nut_hole_half: 0.02275,
    nut_handle_x: 0.054,
    peg_half: 0.016,
};

fn square_nut(d: SquareDims) -> ObjectSpec {
    let wall = 0.5 * (d.nut_outer_half - d.nut_hole_half);
    let mid = d.nut_hole_half + wall;
    let t = NUT_HALF_THICKNESS;
    ObjectSpec {
        name: "nut".into(),
        parts: vec![
            part(cuboid(wall, d.nut_outer_half, t), mid, 0.0, 0.0),
            part(cuboid(wall, d.nut_outer_half, t), -mid, 0.0, 0.0),
            part(cuboid(d.nut_hole_half, wall, t), 0.0, mid, 0.0),
            part(cuboid(d.nut_hole_half, wall, t), 0.0, -mid, 0.0),
            part(
                cuboid(NUT_HANDLE_HALF[0], NUT_HANDLE_HALF[1], NUT_HANDLE_HALF[2]),
                d.nut_handle_x,
                0.0,
                0.0,
            ),
        ],
        mass: 0.06,
        friction: 0.9,
        color: [200, 150, 60, 255],
        fixed: false,
        joint: None,
    }
}

fn square_peg(d: SquareDims) -> ObjectSpec {
    let post_h = 0.5 * (PEG_TOP - PEG_BASE_THICKNESS);
    ObjectSpec {
        name: "peg".into(),
        parts: vec![
            part(
                cuboid(PEG_BASE_HALF, PEG_BASE_HALF, 0.5 * PEG_BASE_THICKNESS),
                0.0,
                0.0,
                0.5 * PEG_BASE_THICKNESS,
            ),
            part(
                cuboid(d.peg_half, d.peg_half, post_h),
                0.0,
                0.0,
                PEG_BASE_THICKNESS + post_h,
            ),
        ],
        mass: 2.0,
        friction: 0.8,
        color: [90, 90, 100, 255],
        fixed: false,
        joint: None,
    }
}

fn camera_at(eye: Vec3, target: Vec3) -> CameraSpec {
    CameraSpec {
        eye,
        target,
        fov_deg: 40.0,
    }
}

fn camera() -> CameraSpec {
    CameraSpec {
        eye: Vec3::new(1.45, -0.75, 0.75),
        target: Vec3::new(0.45, 0.0, 0.08),
        fov_deg: 40.0,
    }
}

const PI: f64 = std::f64::consts::PI;

fn grasp(object: &str) -> SubtaskSpec {
    SubtaskSpec {
        name: format!("grasp_{object}"),
        object: object.into(),
        kind: SubtaskKind::Grasp,
    }
}

fn place(object: &str) -> SubtaskSpec {
    SubtaskSpec {
        name: format!("place_on_{object}"),
        object: object.into(),
        kind: SubtaskKind::Place,
    }
}

/// Height of the conveyor belt's top surface (m) and its speed (m/s, along -x).
pub const BELT_TOP: f64 = 0.02;
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

    /// The built-in task with this id.
    pub fn by_id(id: &str) -> Result<Task, TaskError> {
        let red = [210, 60, 55, 255];
        let green = [70, 160, 90, 255];
        match id {
            "lift" => Ok(Task {
                id: id.into(),
                description: "Pick up the 5 cm cube and lift it 10 cm.".into(),
                objects: vec![cube("cube", 0.05, 0.1, red)],
                fixtures: vec![],
                reset: vec![ObjectReset {
                    x: [0.45, 0.55],
                    y: [-0.05, 0.05],
                    yaw: [-PI, PI],
                    z: 0.025,
                }],
                min_gap: 0.0,
                subtasks: vec![
                    grasp("cube"),
                    SubtaskSpec {
                        name: "lift_cube".into(),
                        object: "cube".into(),
                        kind: SubtaskKind::Lift,
                    },
                ],
                success: SuccessSpec::Lifted {
                    object: "cube".into(),
                    rest_z: 0.025,
                    height: 0.10,
                },
                hold_time: 0.25,
                horizon: 8.0,
                camera: camera(),
            }),
            "stack" => Ok(Task {
                id: id.into(),
                description: "Stack cube A (5 cm) on cube B (6 cm); MimicGen D0 reset.".into(),
                objects: vec![
                    cube("cubeA", 0.05, 0.1, red),
                    cube("cubeB", 0.06, 0.2, green),
                ],
                fixtures: vec![],
                reset: vec![
                    ObjectReset {
                        x: [0.42, 0.58],
                        y: [-0.08, 0.08],
                        yaw: [-PI, PI],
                        z: 0.025,
                    },
                    ObjectReset {
                        x: [0.42, 0.58],
                        y: [-0.08, 0.08],
                        yaw: [-PI, PI],
                        z: 0.03,
                    },
                ],
                min_gap: 0.015,
                subtasks: vec![grasp("cubeA"), place("cubeB")],
                success: SuccessSpec::Stacked {
                    top: "cubeA".into(),
                    bottom: "cubeB".into(),
                    xy_tol: 0.03,
                },
                hold_time: 0.25,
                horizon: 12.0,
                camera: camera(),
            }),
            "square" => Ok(Task {
                id: id.into(),
                description: "Put the square nut (a ring with a handle) onto the square peg."
                    .into(),
                objects: vec![square_nut(SQUARE_PLAYGROUND), square_peg(SQUARE_PLAYGROUND)],
                fixtures: vec![],
                reset: vec![
                    ObjectReset {
                        x: [0.42, 0.54],
                        y: [0.08, 0.2],
                        yaw: [-PI, PI],
                        z: NUT_HALF_THICKNESS,
                    },
                    ObjectReset {
                        x: [0.45, 0.6],
                        y: [-0.16, -0.08],
                        yaw: [-0.3, 0.3],
                        z: 0.0,
                    },
                ],
                min_gap: 0.02,
                subtasks: vec![grasp("nut"), place("peg")],
                success: SuccessSpec::OnPeg {
                    nut: "nut".into(),
                    peg: "peg".into(),
                    xy_tol: 0.03,
                    max_z: PEG_BASE_THICKNESS + 0.04,
                },
                hold_time: 0.25,
                horizon: 14.0,
                camera: camera(),
            }),
            "pick_place" => Ok(Task {
                id: id.into(),
                description: "Pick the can and drop it into the bin.".into(),
                objects: vec![
                    ObjectSpec {
                        name: "can".into(),
                        parts: vec![part(
                            PartShape::Cylinder {
                                half_height: 0.05,
                                radius: 0.028,
                            },
                            0.0,
                            0.0,
                            0.0,
                        )],
                        mass: 0.15,
                        friction: 0.9,
                        color: [60, 110, 200, 255],
                        fixed: false,
                        joint: None,
                    },
                    bin("bin"),
                ],
                fixtures: vec![],
                reset: vec![
                    ObjectReset {
                        x: [0.42, 0.58],
                        y: [-0.2, -0.08],
                        yaw: [-PI, PI],
                        z: 0.05,
                    },
                    ObjectReset {
                        x: [0.45, 0.55],
                        y: [0.12, 0.2],
                        yaw: [-0.2, 0.2],
                        z: 0.0,
                    },
                ],
                min_gap: 0.02,
                subtasks: vec![grasp("can"), place("bin")],
                success: in_bin("can", "bin"),
                hold_time: 0.25,
                horizon: 12.0,
                camera: camera(),
            }),
            "conveyor" => Ok(Task {
                id: id.into(),
                description: "Pick the cube riding the conveyor belt and place it in the bin."
                    .into(),
                objects: vec![cube("cube", 0.05, 0.1, red), bin("bin")],
                fixtures: vec![FixtureSpec {
                    name: "belt".into(),
                    parts: vec![part(cuboid(0.3, 0.08, 0.5 * BELT_TOP), 0.0, 0.0, 0.0)],
                    pose: Pose::from_pos(Vec3::new(0.6, -0.2, 0.5 * BELT_TOP)),
                    friction: 0.9,
                    surface_velocity: Vec3::new(-BELT_SPEED, 0.0, 0.0),
                    color: [45, 45, 50, 255],
                }],
                reset: vec![
                    ObjectReset {
                        x: [0.72, 0.78],
                        y: [-0.22, -0.18],
                        yaw: [-PI, PI],
                        z: BELT_TOP + 0.025,
                    },
                    ObjectReset {
                        x: [0.45, 0.55],
                        y: [0.12, 0.2],
                        yaw: [-0.2, 0.2],
                        z: 0.0,
                    },
                ],
                min_gap: 0.02,
                subtasks: vec![grasp("cube"), place("bin")],
                success: in_bin("cube", "bin"),
                hold_time: 0.25,
                horizon: 14.0,
                camera: camera(),
            }),
            "mug_cleanup" => Ok(cleanup::mug_cleanup()),
            other => Err(TaskError::UnknownTask(other.into())),
        }
    }

    /// The reset distribution of this task at `level` (`None`: the task has none there).
    /// MimicGen's ranges (its `envs/robosuite/stack.py` and `nut_assembly.py`), applied
    /// around [`RESET_CENTRE`]; heights stay this tool's (its objects rest on its table).
    fn level_reset(&self, level: ResetLevel) -> Option<Vec<ObjectReset>> {
        let full = [-PI, PI];
        let z = |i: usize| self.reset.get(i).map_or(0.0, |r| r.z);
        match (self.id.as_str(), level) {
            (_, ResetLevel::D0) => Some(self.reset.clone()),
            // Stack_D1: both cubes within +-0.20 m, any yaw.
            ("stack", ResetLevel::D1) => Some(vec![
                around_centre([-0.2, 0.2], [-0.2, 0.2], full, z(0)),
                around_centre([-0.2, 0.2], [-0.2, 0.2], full, z(1)),
            ]),
            // Square_D1: the nut anywhere on the table's middle, the peg moved too (upright).
            ("square", ResetLevel::D1) => Some(vec![
                around_centre([-0.115, 0.115], [-0.255, 0.255], full, z(0)),
                around_centre([-0.1, 0.3], [-0.2, 0.2], [0.0, 0.0], z(1)),
            ]),
            ("mug_cleanup", ResetLevel::D1) => Some(cleanup::mug_cleanup_d1(self)),
            // Square_D2: both within +-0.25 m, the peg turned up to 90 degrees.
            ("square", ResetLevel::D2) => Some(vec![
                around_centre([-0.25, 0.25], [-0.25, 0.25], full, z(0)),
                around_centre([-0.25, 0.25], [-0.25, 0.25], [0.0, 0.5 * PI], z(1)),
            ]),
            _ => None,
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
        if geometry == Geometry::Robosuite {
            match self.id.as_str() {
                "stack" => {
                    for (name, size) in [("cubeA", 0.04), ("cubeB", 0.05)] {
                        if let Ok(i) = self.object_index(name) {
                            let o = &self.objects[i];
                            self.objects[i] = cube(name, size, o.mass, o.color);
                            if let Some(r) = self.reset.get_mut(i) {
                                r.z = 0.5 * size;
                            }
                        }
                    }
                }
                "square" => {
                    for o in self.objects.iter_mut() {
                        match o.name.as_str() {
                            "nut" => *o = square_nut(SQUARE_ROBOSUITE),
                            "peg" => *o = square_peg(SQUARE_ROBOSUITE),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        self
    }

    /// This task's name for a demo's object `name`: `map`'s when it has one, else
    /// MimicGen's name for it ([`mimicgen_object_names`]), else `name` itself.
    pub fn demo_object_name<'a>(
        &self,
        name: &'a str,
        map: &'a std::collections::BTreeMap<String, String>,
    ) -> &'a str {
        if let Some(to) = map.get(name) {
            return to;
        }
        mimicgen_object_names(&self.id)
            .iter()
            .find(|(from, _)| *from == name)
            .map(|(_, to)| *to)
            .unwrap_or(name)
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
        let radii: Vec<f64> = self.objects.iter().map(|o| o.footprint_radius()).collect();
        let mut last = Vec::new();
        for _attempt in 0..200 {
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
            let jointed = |i: usize| self.objects[i].joint.is_some();
            let apart = (0..poses.len()).all(|i| {
                (0..i).all(|j| {
                    if jointed(i) || jointed(j) {
                        return true;
                    }
                    let d = poses[i].pos - poses[j].pos;
                    let d = m::sqrt(d.x() * d.x() + d.y() * d.y());
                    d >= radii[i] + radii[j] + self.min_gap
                })
            });
            if apart && self.clear_of_open_joints(&poses) {
                return poses;
            }
            last = poses;
        }
        last
    }

    /// Whether every free object stands clear of where each jointed object reaches when
    /// fully open (a drawer must not open into the mug).
    fn clear_of_open_joints(&self, poses: &[Pose]) -> bool {
        self.objects.iter().enumerate().all(|(i, o)| {
            let Some(j) = &o.joint else { return true };
            let Ok(p) = self.object_index(&j.parent) else {
                return true;
            };
            let open = j.pose_at(&poses[p], j.range[1]);
            self.objects.iter().enumerate().all(|(k, other)| {
                k == i
                    || k == p
                    || other.joint.is_some()
                    || o.surface_distance(&open, poses[k].pos) > other.footprint_radius() + 0.005
            })
        })
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

    /// Whether a place subtask is done: the predicate without the conditions that later
    /// subtasks establish (Mug Cleanup: the mug in the drawer, before it is closed).
    pub fn placed(&self, poses: &[Pose], grasped: Option<usize>) -> bool {
        match &self.success {
            SuccessSpec::InClosedDrawer { .. } => self.in_drawer(poses, grasped, false),
            _ => self.predicate(poses, grasped),
        }
    }

    fn in_drawer(&self, poses: &[Pose], grasped: Option<usize>, closed: bool) -> bool {
        let SuccessSpec::InClosedDrawer {
            object,
            drawer,
            inner_half,
            wall_top,
            closed_tol,
        } = &self.success
        else {
            return false;
        };
        let idx = |n: &str| self.object_index(n).ok().filter(|&i| i < poses.len());
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

    /// Whether the success predicate holds for this state (`grasped`: index of
    /// the object held by the gripper, if any).
    pub fn predicate(&self, poses: &[Pose], grasped: Option<usize>) -> bool {
        let idx = |n: &str| self.object_index(n).ok().filter(|&i| i < poses.len());
        match &self.success {
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
            SuccessSpec::InClosedDrawer { .. } => self.in_drawer(poses, grasped, true),
        }
    }
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
        assert_eq!(d2.reset[1].yaw, [0.0, 0.5 * PI]);
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

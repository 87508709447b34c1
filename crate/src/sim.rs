//! The physics world the generator validates trajectories in.
//!
//! The generator and the MimicGen baseline see the world only through the
//! narrow [`World`] trait, so they can be tested against a simple kinematic
//! world as well as the rapier3d scene.
//!
//! - [`PandaWorld`] ([`world`]): the rapier3d scene (Panda-like arm, friction
//!   gripper, table, task objects) with all settings in [`PhysicsSettings`];
//! - [`panda`]: the arm's kinematic model (modified DH), limits and pure FK;
//! - [`ik`]: damped-least-squares IK;
//! - [`showcase`]: a minimal scene used as a cross-platform determinism check.

use crate::geom::{Pose, Vec3};

mod dispatch;
mod hooks;
pub mod ik;
pub mod panda;
mod servo;
pub mod settings;
pub mod showcase;
pub mod world;

pub use world::{PandaWorld, PhysicsSettings};

/// Control rate of every world: one [`World::step`] advances this many seconds.
pub const CONTROL_DT: f64 = 0.05;

/// Errors a world reports instead of simulating something meaningless.
#[derive(Debug, Clone, PartialEq)]
pub enum SimError {
    /// A command or reset value was NaN or infinite.
    NonFinite(String),
    /// Objects would start interpenetrating or off the table.
    InvalidScene(String),
    /// The simulation diverged (NaN state, exploding velocities).
    Unstable(String),
    /// Anything else a person can act on.
    Other(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::NonFinite(s) => write!(f, "non-finite value: {s}"),
            SimError::InvalidScene(s) => write!(f, "invalid scene: {s}"),
            SimError::Unstable(s) => write!(f, "simulation became unstable: {s}"),
            SimError::Other(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for SimError {}

/// What the generator needs from a world. Poses are in the task scene's frame
/// (z up, table surface at z = 0); the end-effector pose is the gripper's
/// centre point between the fingertips, z axis pointing out of the hand.
pub trait World {
    /// Object names in the fixed order used by every pose array.
    fn object_names(&self) -> Vec<String>;
    /// Put every object at the given poses (same order as `object_names`), the arm at
    /// its home configuration with the gripper open.
    fn reset(&mut self, object_poses: &[Pose]) -> Result<(), SimError>;
    /// Set the end-effector target and gripper command for the next control step.
    fn command(&mut self, target: &Pose, gripper_closed: bool) -> Result<(), SimError>;
    /// Advance one control period ([`CONTROL_DT`]).
    fn step(&mut self) -> Result<(), SimError>;
    /// Simulated time since reset, seconds.
    fn time(&self) -> f64;
    /// Current end-effector pose.
    fn eef_pose(&self) -> Pose;
    /// Arm joint positions (rad), 7 values.
    fn joint_positions(&self) -> [f64; 7];
    /// Finger opening (m) between the two pads.
    fn gripper_width(&self) -> f64;
    /// Current object poses.
    fn object_poses(&self) -> Vec<Pose>;
    /// Current object velocities (linear m/s, angular rad/s).
    fn object_velocities(&self) -> Vec<(Vec3, Vec3)>;
    /// Index of the object held between both fingers, if any.
    fn grasped_object(&self) -> Option<usize>;
    /// Whether the last target could be reached by the IK (false when out of reach).
    fn target_reachable(&self) -> bool;
    /// Drive an object horizontally at `velocity` (m/s) by physics while it is not held
    /// (`None` releases it). Used by dynamic variants; never teleports.
    fn set_object_drive(&mut self, object: usize, velocity: Option<Vec3>);
    /// Flattened simulator state sufficient to restore the scene.
    fn state(&self) -> Vec<f64>;
    /// The hardest contact between the robot and the fixed scene (the table, the floor,
    /// fixtures such as the belt) during the last control period.
    fn robot_contact(&self) -> RobotContact;
}

/// The robot's contacts with the fixed scene over one control period: the largest
/// normal force seen at any physics step, for the arm's links with the hand housing, and
/// for the fingers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RobotContact {
    /// Largest normal contact force of an arm link or the hand housing (N).
    pub body_force: f64,
    /// Largest normal contact force of a finger (N).
    pub finger_force: f64,
    /// Deepest penetration of a kinematic arm link into the fixed scene (m; 0 for the
    /// multibody arm, whose links yield and report a force instead).
    pub body_depth: f64,
}

/// A primitive a renderer draws; worlds list their bodies as these.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeKind {
    /// Box with half extents along its local x, y, z (m).
    Cuboid { half_extents: Vec3 },
    /// Capsule along its local z axis: cylinder part of half height `half_height`, radius `radius` (m).
    Capsule { half_height: f64, radius: f64 },
    /// Cylinder along its local z axis (m).
    Cylinder { half_height: f64, radius: f64 },
    /// Sphere (m).
    Sphere { radius: f64 },
}

/// One drawable primitive at a world pose, with an sRGB colour and alpha.
#[derive(Clone, Debug, PartialEq)]
pub struct VisualShape {
    pub kind: ShapeKind,
    pub pose: Pose,
    pub color: [u8; 4],
}

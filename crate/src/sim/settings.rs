//! [`PhysicsSettings`]: every physics setting of the world in one place, and the arm
//! models a user can choose between ([`ArmModel`]; docs/results.md gives each one's speed
//! and success rates).

use super::{SimError, CONTROL_DT};
use serde::{Deserialize, Serialize};

/// Every physics setting of the world in one place. Defaults were measured to
/// hold friction grasps reliably (see the crate docs on grasping).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhysicsSettings {
    /// Physics step (s). [`CONTROL_DT`] is split into `round(CONTROL_DT / dt)` steps.
    pub dt: f64,
    /// Solver iterations per step.
    pub solver_iterations: usize,
    /// Internal PGS iterations per solver iteration (2 makes held objects rotate).
    pub pgs_iterations: usize,
    /// Contact softness: natural frequency (Hz) and damping ratio. Soft contacts
    /// (rapier's 30 Hz default) let the fingers sink into the object and slip.
    pub contact_frequency: f64,
    pub contact_damping_ratio: f64,
    /// Reuse contacts of pairs that barely moved (off: stale contacts shake held objects).
    pub contact_recycling: bool,
    /// Collider skin (m).
    pub contact_skin: f64,
    /// Friction of the table top and of the finger pads.
    pub table_friction: f64,
    pub finger_friction: f64,
    /// Gravity (m/s^2, pointing down).
    pub gravity: f64,
    /// Arm joint motors: acceleration gains (1/s^2, 1/s); torques are limited to
    /// the Panda's (87 / 12 N m).
    pub arm_stiffness: f64,
    pub arm_damping: f64,
    /// Finger motors: force gains (N/m, N s/m) and force limit per finger (N).
    pub finger_stiffness: f64,
    pub finger_damping: f64,
    pub finger_force: f64,
    /// Extra solver iterations for the island holding the fingers. The finger
    /// coupling converges slowly under contact: a grasped cube ends up ~1.5 mm
    /// off the tool centre point with 0, ~0.7 mm with 2 (at ~25% more cost).
    pub finger_extra_iterations: usize,
    /// IK damping and iterations per control step.
    pub ik_damping: f64,
    pub ik_iterations: usize,
    /// Any body faster than this (m/s) means the simulation diverged.
    pub max_speed: f64,
    /// How the arm is simulated (see [`ArmModel`]).
    pub arm_model: ArmModel,
    /// [`ArmModel::Kinematic`] only: the wrist between the arm's flange and the hand, a
    /// force-limited spring along each axis (N/m, N s/m, N); its rotation is rigid.
    pub wrist_stiffness: f64,
    pub wrist_damping: f64,
    pub wrist_force: f64,
}

/// How the arm's seven joints are simulated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmModel {
    /// One reduced-coordinate multibody: the seven joints' motors are torque limited,
    /// so the arm yields when it presses on something. Its mass matrix, rebuilt at
    /// every solver substep, is most of the physics' cost.
    #[default]
    Multibody,
    /// The seven links are kinematic bodies that follow the joint servo (the same
    /// gains as the multibody's motors, integrated outside the solver); the hand is a
    /// dynamic body held to the flange by a force-limited wrist spring, and carries the
    /// fingers as a two-joint multibody. Contacts of the links with the fixed scene are
    /// measured by depth, as links do not yield.
    Kinematic,
    /// As [`ArmModel::Kinematic`], but the servo is the multibody arm's motors solved as
    /// rapier solves them, on the arm's joint-space inertia computed by the project
    /// (`sim::servo`): the hand lags fast commands as the multibody's does, at the
    /// kinematic arm's cost.
    JointSpace,
}

impl ArmModel {
    /// Whether the links are kinematic bodies moved by the project's joint servo.
    pub fn kinematic_links(self) -> bool {
        self != ArmModel::Multibody
    }
}

impl Default for PhysicsSettings {
    fn default() -> Self {
        PhysicsSettings {
            dt: 1.0 / 240.0,
            solver_iterations: 4,
            pgs_iterations: 1,
            contact_frequency: 300.0,
            contact_damping_ratio: 1.0,
            contact_recycling: false,
            contact_skin: 0.0,
            table_friction: 0.7,
            finger_friction: 1.0,
            gravity: 9.81,
            arm_stiffness: 2.0e4,
            arm_damping: 300.0,
            finger_stiffness: 1.0e4,
            finger_damping: 200.0,
            finger_force: 40.0,
            finger_extra_iterations: 0,
            ik_damping: 0.02,
            ik_iterations: 20,
            max_speed: 20.0,
            arm_model: ArmModel::Multibody,
            wrist_stiffness: 3.0e4,
            wrist_damping: 300.0,
            wrist_force: 150.0,
        }
    }
}

impl PhysicsSettings {
    pub(super) fn validate(&self) -> Result<usize, SimError> {
        let finite = [
            self.dt,
            self.contact_frequency,
            self.contact_damping_ratio,
            self.contact_skin,
            self.table_friction,
            self.finger_friction,
            self.gravity,
            self.arm_stiffness,
            self.arm_damping,
            self.finger_stiffness,
            self.finger_damping,
            self.finger_force,
            self.ik_damping,
            self.max_speed,
            self.wrist_stiffness,
            self.wrist_damping,
            self.wrist_force,
        ];
        if finite.iter().any(|v| !v.is_finite()) {
            return Err(SimError::NonFinite("physics settings".into()));
        }
        if !(self.dt > 0.0 && self.dt <= CONTROL_DT) {
            return Err(SimError::Other(format!(
                "physics dt must be in (0, {CONTROL_DT}] s, got {}",
                self.dt
            )));
        }
        if self.solver_iterations == 0 || self.pgs_iterations == 0 {
            return Err(SimError::Other("solver iterations must be >= 1".into()));
        }
        let n = (CONTROL_DT / self.dt + 0.5) as usize;
        Ok(n.clamp(1, 1000))
    }
}

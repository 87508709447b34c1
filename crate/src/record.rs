//! Recording a demonstration by teleoperation, in the physics scene.
//!
//! A [`Teleop`] owns a [`PandaWorld`] of the chosen task. Every control step the
//! caller passes what the person is doing ([`TeleopInput`]: a translation velocity, a
//! yaw rate and the gripper state, e.g. from held keys) or a target pose dragged with
//! the mouse; the recorder moves the end-effector target accordingly (bounded to the
//! workspace), steps the physics, and appends a sample to the demo at the 20 Hz control
//! rate: time, measured end-effector pose, object poses and the gripper command, in the
//! same convention as the built-in demos (sample `k` holds the state at `t_k` and the
//! gripper command applied during the next step). [`Teleop::finish`] returns the
//! [`Demo`], checked for what automatic segmentation needs.

use crate::demo::Demo;
use crate::geom::{Pose, Quat, Vec3};
use crate::sim::{PandaWorld, PhysicsSettings, SimError, World, CONTROL_DT};
use crate::task::Task;

/// Largest translation speed a recording accepts (m/s).
pub const MAX_SPEED: f64 = 0.5;
/// Largest yaw rate (rad/s).
pub const MAX_YAW_RATE: f64 = 2.0;
/// Longest recording, in control steps (10 minutes at 20 Hz).
pub const MAX_STEPS: usize = 12_000;
/// The end-effector target is kept inside this box (m, scene frame).
pub const WORKSPACE_MIN: [f64; 3] = [0.2, -0.45, 0.005];
pub const WORKSPACE_MAX: [f64; 3] = [0.85, 0.45, 0.6];

/// What the person does during one control step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TeleopInput {
    /// End-effector velocity in the scene frame (m/s); clamped to [`MAX_SPEED`].
    pub velocity: Vec3,
    /// Rotation about the vertical (rad/s); clamped to [`MAX_YAW_RATE`].
    pub yaw_rate: f64,
    /// Close (true) or open the gripper.
    pub gripper_closed: bool,
}

/// Why a recording cannot be used.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordError {
    Sim(SimError),
    /// Too short to hold a motion.
    TooShort {
        samples: usize,
    },
    /// The gripper never closed on an object.
    NoGrasp,
    /// The recording reached [`MAX_STEPS`].
    TooLong,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Sim(e) => write!(f, "the scene rejected the recording: {e}"),
            RecordError::TooShort { samples } => write!(
                f,
                "the recording has only {samples} samples; record at least a few seconds of motion"
            ),
            RecordError::NoGrasp => write!(
                f,
                "the recording never closes the gripper on an object. Automatic segmentation splits a demo where the gripper closes and opens near an object, so a usable demo moves the gripper to an object, closes it around the object (it must end up held), then moves it (and opens it where it should be placed)"
            ),
            RecordError::TooLong => write!(
                f,
                "the recording reached its limit of {MAX_STEPS} steps ({} s)",
                MAX_STEPS as f64 * CONTROL_DT
            ),
        }
    }
}

impl std::error::Error for RecordError {}

impl From<SimError> for RecordError {
    fn from(e: SimError) -> Self {
        RecordError::Sim(e)
    }
}

/// A recording in progress.
pub struct Teleop {
    world: PandaWorld,
    target: Pose,
    gripper: bool,
    demo: Demo,
    held_any: bool,
}

fn clamp_to_workspace(p: Vec3) -> Vec3 {
    Vec3::new(
        p.x().clamp(WORKSPACE_MIN[0], WORKSPACE_MAX[0]),
        p.y().clamp(WORKSPACE_MIN[1], WORKSPACE_MAX[1]),
        p.z().clamp(WORKSPACE_MIN[2], WORKSPACE_MAX[2]),
    )
}

impl Teleop {
    /// Start recording `task` with its objects at `poses`.
    pub fn new(task: &Task, poses: &[Pose]) -> Result<Teleop, RecordError> {
        let world = PandaWorld::with_poses(task, PhysicsSettings::default(), poses)?;
        let demo = task.empty_demo();
        Ok(Teleop {
            target: world.eef_pose(),
            world,
            gripper: false,
            demo,
            held_any: false,
        })
    }

    pub fn world(&self) -> &PandaWorld {
        &self.world
    }

    /// The current end-effector target (where the hand is being driven).
    pub fn target(&self) -> Pose {
        self.target
    }

    /// Samples recorded so far.
    pub fn samples(&self) -> usize {
        self.demo.len()
    }

    fn record(&mut self) {
        self.demo.t.push(self.world.time());
        self.demo.eef.push(self.world.eef_pose());
        self.demo.gripper.push(if self.gripper { 1.0 } else { 0.0 });
        for (track, p) in self.demo.objects.iter_mut().zip(self.world.object_poses()) {
            track.poses.push(p);
        }
    }

    fn advance(&mut self) -> Result<(), RecordError> {
        if self.demo.len() >= MAX_STEPS {
            return Err(RecordError::TooLong);
        }
        self.record();
        self.world.command(&self.target, self.gripper)?;
        self.world.step()?;
        if self.world.grasped_object().is_some() {
            self.held_any = true;
        }
        Ok(())
    }

    /// One control step driven by velocities (keyboard).
    pub fn step(&mut self, input: &TeleopInput) -> Result<(), RecordError> {
        let mut v = if input.velocity.is_finite() {
            input.velocity
        } else {
            Vec3::ZERO
        };
        if v.norm() > MAX_SPEED {
            v = v * (MAX_SPEED / v.norm());
        }
        let w = if input.yaw_rate.is_finite() {
            input.yaw_rate.clamp(-MAX_YAW_RATE, MAX_YAW_RATE)
        } else {
            0.0
        };
        let pos = clamp_to_workspace(self.target.pos + v * CONTROL_DT);
        let quat = (Quat::from_yaw(w * CONTROL_DT) * self.target.quat).normalized();
        self.target = Pose::new(pos, quat);
        self.gripper = input.gripper_closed;
        self.advance()
    }

    /// One control step towards a target pose (a dragged handle); the target moves at
    /// most [`MAX_SPEED`] per second and stays in the workspace.
    pub fn step_to(&mut self, target: &Pose, gripper_closed: bool) -> Result<(), RecordError> {
        if !target.is_finite() {
            return Err(RecordError::Sim(SimError::NonFinite(
                "dragged target".into(),
            )));
        }
        let d = clamp_to_workspace(target.pos) - self.target.pos;
        let max = MAX_SPEED * CONTROL_DT;
        let d = if d.norm() > max {
            d * (max / d.norm())
        } else {
            d
        };
        let quat = self.target.quat.slerp(target.quat.normalized(), 0.5);
        self.target = Pose::new(self.target.pos + d, quat);
        self.gripper = gripper_closed;
        self.advance()
    }

    /// End the recording: the final sample is added and the demo checked.
    pub fn finish(mut self) -> Result<Demo, RecordError> {
        self.record();
        let n = self.demo.len();
        if n < 10 {
            return Err(RecordError::TooShort { samples: n });
        }
        if !self.held_any || !self.demo.gripper.iter().any(|g| *g > 0.5) {
            return Err(RecordError::NoGrasp);
        }
        Ok(self.demo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::segment::{segment, SubtaskKind};

    /// A person on the keyboard: full speed along whichever axes still have more than
    /// 5 mm to go (like holding arrow keys), nothing otherwise.
    fn keys_towards(from: Vec3, to: Vec3) -> Vec3 {
        let d = to - from;
        let key = |x: f64| {
            if x > 0.005 {
                0.1
            } else if x < -0.005 {
                -0.1
            } else {
                0.0
            }
        };
        Vec3::new(key(d.x()), key(d.y()), key(d.z()))
    }

    fn drive(t: &mut Teleop, to: Vec3, closed: bool, max_steps: usize) {
        for _ in 0..max_steps {
            let v = keys_towards(t.target().pos, to);
            t.step(&TeleopInput {
                velocity: v,
                yaw_rate: 0.0,
                gripper_closed: closed,
            })
            .unwrap();
            if v == Vec3::ZERO {
                break;
            }
        }
    }

    fn hold(t: &mut Teleop, closed: bool, steps: usize) {
        for _ in 0..steps {
            t.step(&TeleopInput {
                gripper_closed: closed,
                ..TeleopInput::default()
            })
            .unwrap();
        }
    }

    #[test]
    fn key_presses_record_a_lift_that_segments_into_grasp_and_lift() {
        let task = Task::by_id("lift").unwrap();
        let mut poses = task.sample_object_poses(&mut Rng::new(2));
        poses[0].quat = Quat::IDENTITY;
        let mut t = Teleop::new(&task, &poses).unwrap();
        let cube = poses[0].pos;
        // Line the gripper up with the cube's faces, then approach from above.
        let yaw = t.target().quat.yaw();
        for _ in 0..40 {
            let err = crate::geom::m::atan2(crate::geom::m::sin(-yaw), crate::geom::m::cos(-yaw));
            let done = t.target().quat.yaw().abs() < 0.02;
            t.step(&TeleopInput {
                yaw_rate: if done { 0.0 } else { err.signum() * 1.0 },
                ..TeleopInput::default()
            })
            .unwrap();
            if done {
                break;
            }
        }
        drive(&mut t, cube + Vec3::new(0.0, 0.0, 0.12), false, 200);
        drive(&mut t, cube, false, 200);
        hold(&mut t, false, 5);
        hold(&mut t, true, 15);
        drive(&mut t, cube + Vec3::new(0.0, 0.0, 0.15), true, 200);
        hold(&mut t, true, 10);
        assert_eq!(t.world().grasped_object(), Some(0), "the cube is held");
        let demo = t.finish().unwrap();
        let spec = segment(&demo).unwrap();
        let kinds: Vec<SubtaskKind> = spec.subtasks.iter().map(|s| s.kind).collect();
        assert_eq!(kinds.first(), Some(&SubtaskKind::Grasp), "{kinds:?}");
        assert!(
            kinds[1..].iter().all(|k| *k == SubtaskKind::Carry),
            "{kinds:?}"
        );
        assert!(spec.subtasks.iter().all(|s| s.object == "cube"));
        // The recording is a usable source demo: D-MG generates from it.
        let cfg = crate::config::GenerationConfig {
            task: "lift".into(),
            demo: crate::config::DemoRef::Embedded {
                demo: Box::new(demo),
            },
            variant: crate::config::Variant::Static,
            ..Default::default()
        };
        let g = crate::generate::Generator::new(&cfg, None).unwrap();
        let ok = (0..4).filter(|&i| g.attempt(i).success).count();
        assert!(ok >= 3, "{ok} of 4 attempts from the recorded demo succeed");
    }

    #[test]
    fn a_recording_that_never_grasps_is_refused_with_an_explanation() {
        let task = Task::by_id("lift").unwrap();
        let poses = task.sample_object_poses(&mut Rng::new(1));
        let mut t = Teleop::new(&task, &poses).unwrap();
        drive(&mut t, Vec3::new(0.4, 0.2, 0.2), false, 100);
        hold(&mut t, true, 10); // closes on nothing
        let e = t.finish().unwrap_err();
        assert_eq!(e, RecordError::NoGrasp);
        assert!(e.to_string().contains("closes and opens near an object"));
    }

    #[test]
    fn inputs_are_bounded() {
        let task = Task::by_id("lift").unwrap();
        let poses = task.sample_object_poses(&mut Rng::new(1));
        let mut t = Teleop::new(&task, &poses).unwrap();
        let before = t.target().pos;
        t.step(&TeleopInput {
            velocity: Vec3::new(100.0, f64::NAN, 0.0),
            yaw_rate: f64::INFINITY,
            gripper_closed: false,
        })
        .unwrap();
        assert_eq!(t.target().pos, before, "non-finite input is ignored");
        t.step(&TeleopInput {
            velocity: Vec3::new(100.0, 0.0, -100.0),
            ..TeleopInput::default()
        })
        .unwrap();
        let moved = (t.target().pos - before).norm();
        assert!(moved <= MAX_SPEED * CONTROL_DT + 1e-12);
        for _ in 0..200 {
            t.step(&TeleopInput {
                velocity: Vec3::new(0.0, 0.0, -0.5),
                ..TeleopInput::default()
            })
            .unwrap();
        }
        assert!(t.target().pos.z() >= WORKSPACE_MIN[2]);
        assert!(Teleop::new(&task, &poses).unwrap().finish().is_err());
    }
}

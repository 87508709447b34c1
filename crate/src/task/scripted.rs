//! Built-in demonstrations. **They are scripted, not recorded from a person**:
//! a scripted teleoperator drives the Panda in the physics world the way a
//! careful human operator would (approach above the object, descend, close,
//! lift, transport, descend, release, retreat), moving between waypoints with
//! minimum-jerk timing `s(u) = 10u^3 - 15u^4 + 6u^5`.
//!
//! The script is closed-loop on the true object poses: every control step it
//! recomputes its current waypoint from the live object poses (and, for moving
//! objects, their velocity), so it can pick a cube riding the conveyor belt.
//! The recording is a [`Demo`] at the 20 Hz control rate:
//! sample `k` holds the time `t_k = k * CONTROL_DT`, the measured end-effector
//! pose and all object poses at `t_k`, and the gripper command (0 open, 1
//! closed) applied during `[t_k, t_k+1)`. Replaying a demo open-loop therefore
//! commands `(eef[k + 1], gripper[k])` at step `k` (see [`replay_open_loop`]).

use super::{DynamicsPlan, SubtaskKind, SuccessTracker, Task};
use crate::demo::Demo;
use crate::export::{observe, EpisodeRecord, StepRecord};
use crate::geom::{Pose, Quat, Vec3};
use crate::rng::Rng;
use crate::sim::panda;
use crate::sim::{PandaWorld, PhysicsSettings, SimError, World, CONTROL_DT};
use serde::{Deserialize, Serialize};

const PI: f64 = std::f64::consts::PI;
/// Largest look-ahead added to a moving object's grasp pose (m).
const MAX_LEAD: f64 = 0.01;

/// Where the gripper takes an object: `local` is the end-effector position in the
/// object's yaw frame (object origin, z up, x along the object's yaw), `yaw` the
/// gripper yaw relative to the object, `symmetry` the object's rotational
/// symmetry about z (rad; the closest equivalent yaw is used; 0: any yaw, the
/// gripper keeps its own).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraspPoint {
    #[serde(default)]
    pub local: Vec3,
    #[serde(default)]
    pub yaw: f64,
    #[serde(default)]
    pub symmetry: f64,
}

/// Where a held object goes: its origin `height` above the target's origin,
/// with its yaw matched to the target's modulo `symmetry` (`None`: keep the
/// object's yaw).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacePoint {
    pub height: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symmetry: Option<f64>,
    /// Where on the target (its yaw frame, m) and the object's yaw relative to it.
    #[serde(default)]
    pub offset: Vec3,
    #[serde(default)]
    pub yaw: f64,
}

/// The waypoint of a phase, recomputed from the live state every control step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// Stay at the pose the phase started from.
    Hold,
    /// The grasp pose on `object`, raised by `dz` (m).
    AtGrasp {
        object: usize,
        grasp: GraspPoint,
        dz: f64,
    },
    /// Straight up (or down) to height `z` (m), keeping x, y and orientation.
    RaiseTo { z: f64 },
    /// Drift from the phase's start pose with `object`'s horizontal velocity at
    /// the phase start (keeps pace with an object riding a belt while the
    /// fingers close; the object's live pose is not fed back once it is touched).
    Drift { object: usize },
    /// Carry the held `object` to its place pose on `target`, raised by `dz` (m).
    AtPlace {
        object: usize,
        target: usize,
        place: PlacePoint,
        dz: f64,
    },
    /// Move from the phase's start pose by `distance` (m) along the opening direction
    /// of jointed `object`'s slide joint (negative: towards closing).
    Along { object: usize, distance: f64 },
}

/// A phase's waypoint as a task file writes it: [`Goal`] with objects by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GoalSpec {
    Hold,
    AtGrasp {
        object: String,
        grasp: GraspPoint,
        dz: f64,
    },
    RaiseTo {
        z: f64,
    },
    Drift {
        object: String,
    },
    AtPlace {
        object: String,
        target: String,
        place: PlacePoint,
        dz: f64,
    },
    Along {
        object: String,
        distance: f64,
    },
}

/// One phase of a task's scripted demonstration, as a task file writes it: `duration`
/// seconds of minimum-jerk motion to `goal` with the gripper `closed` or open, part of
/// subtask `subtask` (an index into the task's subtasks; phases follow them in order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    pub name: String,
    pub subtask: usize,
    pub duration: f64,
    #[serde(default)]
    pub closed: bool,
    pub goal: GoalSpec,
}

/// One phase of a script.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: String,
    /// Index of the task subtask this phase belongs to.
    pub subtask: usize,
    /// Seconds.
    pub duration: f64,
    pub gripper_closed: bool,
    pub goal: Goal,
}

/// The scripted teleoperation of a task: its file's `script`, objects resolved to their
/// indices. A task without one has no scripted demonstration.
pub fn script(task: &Task) -> Result<Vec<Phase>, SimError> {
    if task.script.is_empty() {
        return Err(SimError::Other(format!(
            "task '{}' has no scripted demonstration; record a demo by teleoperation or upload one",
            task.id
        )));
    }
    let idx = |n: &str| {
        task.object_index(n)
            .map_err(|e| SimError::Other(e.to_string()))
    };
    task.script
        .iter()
        .map(|p| {
            let goal = match &p.goal {
                GoalSpec::Hold => Goal::Hold,
                GoalSpec::AtGrasp { object, grasp, dz } => Goal::AtGrasp {
                    object: idx(object)?,
                    grasp: *grasp,
                    dz: *dz,
                },
                GoalSpec::RaiseTo { z } => Goal::RaiseTo { z: *z },
                GoalSpec::Drift { object } => Goal::Drift {
                    object: idx(object)?,
                },
                GoalSpec::AtPlace {
                    object,
                    target,
                    place,
                    dz,
                } => Goal::AtPlace {
                    object: idx(object)?,
                    target: idx(target)?,
                    place: *place,
                    dz: *dz,
                },
                GoalSpec::Along { object, distance } => Goal::Along {
                    object: idx(object)?,
                    distance: *distance,
                },
            };
            Ok(Phase {
                name: p.name.clone(),
                subtask: p.subtask,
                duration: p.duration,
                gripper_closed: p.closed,
                goal,
            })
        })
        .collect()
}

/// Wrap an angle to (-pi, pi].
fn wrap(a: f64) -> f64 {
    let mut a = a;
    while a > PI {
        a -= 2.0 * PI;
    }
    while a <= -PI {
        a += 2.0 * PI;
    }
    a
}

/// The angle `base + k * symmetry` closest to `reference`.
fn closest_symmetric(base: f64, symmetry: f64, reference: f64) -> f64 {
    if symmetry <= 0.0 {
        return reference;
    }
    let k = (wrap(reference - base) / symmetry + 0.5).floor();
    base + k * symmetry
}

/// The running scripted operator: phase bookkeeping and waypoint computation.
struct Operator {
    phases: Vec<Phase>,
    index: usize,
    step_in_phase: usize,
    start: Pose,
    /// Yaw chosen for the current phase (gripper or held-object yaw).
    yaw: f64,
    /// Object velocity captured at the phase start (for [`Goal::Drift`]).
    drift: Vec3,
    /// For [`Goal::AtPlace`], captured at the phase start: the held object's
    /// offset from the end-effector (world axes), its yaw, and the commanded
    /// end-effector orientation.
    held_offset: Vec3,
    held_yaw: f64,
    held_eef_quat: Quat,
    last_command: Pose,
}

/// Minimum-jerk time scaling.
fn min_jerk(u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)
}

impl Operator {
    fn new(phases: Vec<Phase>, start: Pose) -> Operator {
        Operator {
            phases,
            index: 0,
            step_in_phase: 0,
            start,
            yaw: 0.0,
            drift: Vec3::ZERO,
            held_offset: Vec3::ZERO,
            held_yaw: 0.0,
            held_eef_quat: start.quat,
            last_command: start,
        }
    }

    fn finished(&self) -> bool {
        self.index >= self.phases.len()
    }

    /// Current subtask and the phase within it in [0, 1].
    fn progress(&self) -> (usize, f64) {
        let Some(cur) = self.phases.get(self.index) else {
            return (self.phases.last().map_or(0, |p| p.subtask), 1.0);
        };
        let (mut done, mut total) = (0usize, 0usize);
        for (i, p) in self.phases.iter().enumerate() {
            if p.subtask != cur.subtask {
                continue;
            }
            let n = Self::steps_of(p);
            total += n;
            if i < self.index {
                done += n;
            }
        }
        done += self.step_in_phase;
        (cur.subtask, done as f64 / total.max(1) as f64)
    }

    fn steps_of(p: &Phase) -> usize {
        ((p.duration / CONTROL_DT).round() as usize).max(1)
    }

    /// The command for the next control step, or `None` after the last phase.
    fn next(&mut self, world: &PandaWorld) -> Option<(Pose, bool)> {
        let p = self.phases.get(self.index)?.clone();
        let poses = world.object_poses();
        let vels = world.object_velocities();
        let eef = world.eef_pose();
        if self.step_in_phase == 0 {
            self.start = self.last_command;
            if let Goal::AtPlace { object, .. } = p.goal {
                self.held_offset = poses[object].pos - eef.pos;
                self.held_yaw = poses[object].quat.yaw();
                self.held_eef_quat = self.start.quat;
            }
            self.drift = match p.goal {
                Goal::Drift { object } => Vec3::new(vels[object].0.x(), vels[object].0.y(), 0.0),
                _ => Vec3::ZERO,
            };
            self.yaw = match p.goal {
                Goal::AtGrasp { object, grasp, .. } => {
                    let yaw_o = poses[object].quat.yaw();
                    let chosen =
                        closest_symmetric(yaw_o + grasp.yaw, grasp.symmetry, self.start.quat.yaw());
                    if grasp.symmetry > 0.0 {
                        // Kept relative to the object, which may turn.
                        wrap(chosen - yaw_o)
                    } else {
                        chosen
                    }
                }
                Goal::AtPlace {
                    object,
                    target,
                    place,
                    ..
                } => match place.symmetry {
                    Some(s) => closest_symmetric(
                        poses[target].quat.yaw() + place.yaw,
                        s,
                        poses[object].quat.yaw(),
                    ),
                    None => poses[object].quat.yaw(),
                },
                _ => 0.0,
            };
        }
        let goal = match p.goal {
            Goal::Hold => self.start,
            Goal::Drift { .. } => Pose::new(
                self.start.pos + self.drift * ((self.step_in_phase + 1) as f64 * CONTROL_DT),
                self.start.quat,
            ),
            Goal::RaiseTo { z } => Pose::new(
                Vec3::new(self.start.pos.x(), self.start.pos.y(), z),
                self.start.quat,
            ),
            Goal::Along { object, distance } => {
                let task = world.task();
                let axis = task.objects[object]
                    .joint
                    .as_ref()
                    .and_then(|j| {
                        let p = task.object_index(&j.parent).ok()?;
                        Some(poses[p].quat.rotate(j.axis.normalized()))
                    })
                    .unwrap_or(Vec3::ZERO);
                Pose::new(self.start.pos + axis * distance, self.start.quat)
            }
            Goal::AtGrasp { object, grasp, dz } => {
                let o = poses[object];
                let yaw_o = o.quat.yaw();
                // Lead a moving object by the arm's tracking lag.
                let mut lead = Vec3::new(vels[object].0.x(), vels[object].0.y(), 0.0) * 0.1;
                if lead.norm() > MAX_LEAD {
                    lead = lead.normalized() * MAX_LEAD;
                }
                let pos = o.pos
                    + Quat::from_yaw(yaw_o).rotate(grasp.local)
                    + Vec3::new(0.0, 0.0, dz)
                    + lead;
                let yaw = if grasp.symmetry > 0.0 {
                    yaw_o + self.yaw
                } else {
                    self.yaw
                };
                Pose::new(pos, panda::down_orientation(yaw))
            }
            Goal::AtPlace {
                target, place, dz, ..
            } => {
                // Turn the gripper about the vertical by the yaw the object
                // still needs, and put the object (at its in-hand offset measured
                // when the phase started) above the live target pose.
                let turn = wrap(self.yaw - self.held_yaw);
                let rz = Quat::from_yaw(turn);
                let t = poses[target];
                let obj_pos = t.pos
                    + Quat::from_yaw(t.quat.yaw()).rotate(place.offset)
                    + Vec3::new(0.0, 0.0, place.height + dz);
                Pose::new(
                    obj_pos - rz.rotate(self.held_offset),
                    rz * self.held_eef_quat,
                )
            }
        };
        let n = Self::steps_of(&p);
        self.step_in_phase += 1;
        let cmd = if matches!(p.goal, Goal::Drift { .. }) {
            goal
        } else {
            self.start
                .interpolate(&goal, min_jerk(self.step_in_phase as f64 / n as f64))
        };
        if self.step_in_phase >= n {
            self.index += 1;
            self.step_in_phase = 0;
        }
        self.last_command = cmd;
        Some((cmd, p.gripper_closed))
    }
}

/// Subtask end signals (MimicGen's `subtask_term_signals`): grasp subtasks
/// signal while their object is held, the others while the task predicate holds.
fn term_signals(task: &Task, world: &PandaWorld) -> Vec<u8> {
    let grasped = world.grasped_object();
    let poses = world.object_poses();
    task.subtasks
        .iter()
        .map(|s| match s.kind {
            SubtaskKind::Grasp => {
                u8::from(task.object_index(&s.object).ok() == grasped && grasped.is_some())
            }
            // Opened (closed) far enough, and the hand off the object again.
            SubtaskKind::Pull | SubtaskKind::Push => {
                let off = task.object_index(&s.object).is_ok_and(|i| {
                    task.objects[i].surface_distance(&poses[i], world.eef_pose().pos) > 0.02
                });
                u8::from(off && task.moved_enough(s, &poses))
            }
            SubtaskKind::Place => u8::from(task.placed(s, &poses, grasped)),
            SubtaskKind::Lift => u8::from(task.predicate(&poses, grasped)),
        })
        .collect()
}

struct Recorder {
    demo: Demo,
    signals: Vec<Vec<u8>>,
}

impl Recorder {
    fn new(task: &Task) -> Recorder {
        Recorder {
            demo: task.empty_demo(),
            signals: vec![Vec::new(); task.subtasks.len()],
        }
    }

    fn record(&mut self, task: &Task, world: &PandaWorld, gripper_closed: bool) {
        self.demo.t.push(world.time());
        self.demo.eef.push(world.eef_pose());
        self.demo
            .gripper
            .push(if gripper_closed { 1.0 } else { 0.0 });
        for (track, p) in self.demo.objects.iter_mut().zip(world.object_poses()) {
            track.poses.push(p);
        }
        for (sig, v) in self.signals.iter_mut().zip(term_signals(task, world)) {
            sig.push(v);
        }
    }

    fn finish(mut self, task: &Task) -> Demo {
        self.demo.subtask_term_signals = task
            .subtasks
            .iter()
            .map(|s| s.name.clone())
            .zip(self.signals)
            .collect();
        // A closing push ends with the demo; its signal (closed, hand off) also holds
        // before the drawer was ever opened, so like MimicGen's last subtask it has none.
        if task
            .subtasks
            .last()
            .is_some_and(|s| s.kind == SubtaskKind::Push)
        {
            self.demo.subtask_term_signals.pop();
        }
        self.demo
    }
}

/// Extra control steps recorded after success is established, so an open-loop
/// replay has slack to establish it too.
const TAIL_STEPS: usize = 8;

/// The built-in scripted demo of task `task_id` from the reset drawn with `seed`.
pub fn scripted_demo(task_id: &str, seed: u64) -> Result<Demo, SimError> {
    let task = Task::by_id(task_id).map_err(|e| SimError::Other(e.to_string()))?;
    scripted_demo_of(&task, seed)
}

/// The scripted demo of `task` (its file's `script`) from the reset drawn with `seed`.
pub fn scripted_demo_of(task: &Task, seed: u64) -> Result<Demo, SimError> {
    let poses = task.sample_object_poses(&mut Rng::new(seed));
    scripted_demo_from(task, &poses, &PhysicsSettings::default())
}

/// Run the scripted operator on `task` from `object_poses` and record it.
/// Fails if the script does not achieve the task.
pub fn scripted_demo_from(
    task: &Task,
    object_poses: &[Pose],
    settings: &PhysicsSettings,
) -> Result<Demo, SimError> {
    scripted_demo_dynamic(task, object_poses, settings, &DynamicsPlan::none())
}

/// As [`scripted_demo_from`], with objects moving by `plan` (the script is
/// closed-loop, so it follows them).
pub fn scripted_demo_dynamic(
    task: &Task,
    object_poses: &[Pose],
    settings: &PhysicsSettings,
    plan: &DynamicsPlan,
) -> Result<Demo, SimError> {
    scripted_episode(task, object_poses, settings, plan).map(|(demo, _)| demo)
}

/// The nominal duration of each task subtask in the script (s): the time the scripted
/// operator gives it. Policy evaluation times the dynamic variants' motion windows with
/// these, as generation times them with a demo's segments.
pub fn subtask_durations(task: &Task) -> Result<Vec<f64>, SimError> {
    let mut d = vec![0.0; task.subtasks.len()];
    for p in script(task)? {
        if let Some(x) = d.get_mut(p.subtask) {
            *x += Operator::steps_of(&p) as f64 * CONTROL_DT;
        }
    }
    Ok(d)
}

/// As [`scripted_demo_dynamic`], with the run also recorded as a dataset episode
/// (observations, the commanded poses, rewards, subtask indices), so that scripted
/// demonstrations can be written as a robomimic file like generated ones.
pub fn scripted_episode(
    task: &Task,
    object_poses: &[Pose],
    settings: &PhysicsSettings,
    plan: &DynamicsPlan,
) -> Result<(Demo, EpisodeRecord), SimError> {
    let mut steps = Vec::new();
    let mut world = PandaWorld::with_poses(task, settings.clone(), object_poses)?;
    let mut op = Operator::new(script(task)?, world.eef_pose());
    let mut tracker = SuccessTracker::new(task);
    let mut rec = Recorder::new(task);
    let mut after_success = 0;
    let mut extra = 0;
    loop {
        let (subtask, phase) = op.progress();
        plan.apply(&mut world, subtask, phase);
        let (cmd, closed) = match op.next(&world) {
            Some(c) => c,
            None => {
                // Script over: hold still until success (bounded).
                extra += 1;
                if extra > 40 {
                    let at: Vec<String> = task
                        .objects
                        .iter()
                        .zip(world.object_poses())
                        .map(|(o, p)| {
                            format!(
                                "{} at ({:.3}, {:.3}, {:.3})",
                                o.name,
                                p.pos.x(),
                                p.pos.y(),
                                p.pos.z()
                            )
                        })
                        .collect();
                    return Err(SimError::Other(format!(
                        "scripted demo of '{}' did not succeed; at its end {}",
                        task.id,
                        at.join(", ")
                    )));
                }
                (
                    op.last_command,
                    op.phases.last().is_some_and(|p| p.gripper_closed),
                )
            }
        };
        rec.record(task, &world, closed);
        if std::env::var("DMGEN_TRACE").is_ok() && world.time() as usize as f64 == world.time() {
            let p = world.object_poses();
            eprintln!(
                "t={:.1} sub={subtask} eef={:?} held={:?} {:?}",
                world.time(),
                world.eef_pose().pos,
                world.grasped_object(),
                p.iter().map(|q| q.pos).collect::<Vec<_>>()
            );
        }
        let obs = observe(&world);
        world.command(&cmd, closed)?;
        world.step()?;
        steps.push(StepRecord {
            obs,
            target: cmd,
            gripper_closed: closed,
            reward: if task.predicate(&world.object_poses(), world.grasped_object()) {
                1.0
            } else {
                0.0
            },
            subtask: subtask.min(task.subtasks.len().saturating_sub(1)),
        });
        if tracker.update(task, &world) {
            after_success += 1;
            if after_success > TAIL_STEPS && op.finished() {
                break;
            }
        }
    }
    let last = *rec.demo.gripper.last().unwrap_or(&0.0) > 0.5;
    rec.record(task, &world, last);
    let episode = EpisodeRecord {
        attempt: 0,
        seed: 0,
        success: true,
        object_names: task.object_names(),
        subtask_names: task.subtasks.iter().map(|s| s.name.clone()).collect(),
        steps,
        final_obs: observe(&world),
        images: Vec::new(),
    };
    Ok((rec.finish(task), episode))
}

/// Outcome of replaying a demo.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayOutcome {
    pub success: bool,
    pub success_time: Option<f64>,
    pub final_object_poses: Vec<Pose>,
    /// Largest distance between a recorded and a replayed end-effector position (m).
    pub max_eef_deviation: f64,
}

/// Replay `demo` open-loop in a fresh world: same initial object poses, commands
/// `(eef[k + 1], gripper[k])`, no feedback from the objects.
pub fn replay_open_loop(
    task: &Task,
    demo: &Demo,
    settings: &PhysicsSettings,
) -> Result<ReplayOutcome, SimError> {
    let n = demo.len();
    if demo.eef.len() != n || demo.gripper.len() != n {
        return Err(SimError::Other(format!(
            "demo series lengths differ (t: {n}, eef: {}, gripper: {})",
            demo.eef.len(),
            demo.gripper.len()
        )));
    }
    let mut initial = Vec::with_capacity(task.objects.len());
    for spec in &task.objects {
        let pose = demo
            .objects
            .iter()
            .find(|o| o.name == spec.name)
            .and_then(|o| o.poses.first())
            .ok_or_else(|| {
                SimError::InvalidScene(format!("the demo has no initial pose for '{}'", spec.name))
            })?;
        initial.push(*pose);
    }
    let mut world = PandaWorld::with_poses(task, settings.clone(), &initial)?;
    let mut tracker = SuccessTracker::new(task);
    let mut dev: f64 = 0.0;
    for k in 0..demo.len().saturating_sub(1) {
        world.command(&demo.eef[k + 1], demo.gripper[k] > 0.5)?;
        world.step()?;
        dev = dev.max((world.eef_pose().pos - demo.eef[k + 1].pos).norm());
        tracker.update(task, &world);
    }
    Ok(ReplayOutcome {
        success: tracker.succeeded(),
        success_time: tracker.success_time(),
        final_object_poses: world.object_poses(),
        max_eef_deviation: dev,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_yaw_choice_is_closest() {
        let q = closest_symmetric(1.2, 0.5 * PI, 0.0);
        assert!((q - (1.2 - 0.5 * PI)).abs() < 1e-12);
        let q = closest_symmetric(-3.0, PI, 0.0);
        assert!((q - (-3.0 + PI)).abs() < 1e-12);
        assert_eq!(closest_symmetric(2.0, 0.0, 0.3), 0.3);
    }

    /// The scripted demo of `id` succeeds (else `scripted_demo` errs), is a
    /// well-formed 20 Hz recording, and its end-effector trajectory replayed
    /// open-loop in a fresh world achieves the task too.
    fn demo_succeeds_and_replays(id: &str, seeds: &[u64]) {
        let task = Task::by_id(id).unwrap();
        for &seed in seeds {
            let demo = scripted_demo(id, seed).unwrap_or_else(|e| panic!("{id}/{seed}: {e}"));
            let n = demo.len();
            assert!(n > 60);
            assert_eq!(demo.task.as_deref(), Some(id));
            assert_eq!(demo.eef.len(), n);
            assert_eq!(demo.gripper.len(), n);
            for (k, t) in demo.t.iter().enumerate() {
                assert!((t - k as f64 * CONTROL_DT).abs() < 1e-9);
            }
            assert!(demo.eef.iter().all(|p| p.is_finite()));
            assert_eq!(demo.objects.len(), task.objects.len());
            assert!(demo.objects.iter().all(|o| o.poses.len() == n));
            let closes = demo
                .gripper
                .windows(2)
                .filter(|w| w[0] < 0.5 && w[1] > 0.5)
                .count();
            let grasps = task
                .subtasks
                .iter()
                .filter(|s| s.kind == SubtaskKind::Grasp)
                .count();
            assert_eq!(closes, grasps, "{id}: one close per grasp subtask");
            if task.place_target().is_some() {
                assert_eq!(*demo.gripper.last().unwrap(), 0.0, "{id}: released");
            }
            // The grasp signal fires while the object is held.
            let (_, grasp_sig) = &demo.subtask_term_signals[0];
            assert!(grasp_sig.iter().filter(|v| **v == 1).count() > 10);
            // Smooth, human-like motion: no end-effector jumps between samples (a hand
            // that a drawer's handle held back catches up by up to 3.1 cm in a step:
            // Hammer Cleanup's push).
            for w in demo.eef.windows(2) {
                assert!((w[1].pos - w[0].pos).norm() < 0.032, "{id}: jump");
            }
            let replay = replay_open_loop(&task, &demo, &PhysicsSettings::default()).unwrap();
            assert!(replay.success, "{id}/{seed}: open-loop replay failed");
            // Hammer Cleanup's hand is held back by its longer drawer (measured: the
            // open-loop replay strays up to 5.3 cm from the recording, and succeeds).
            let tolerance = if id == "hammer_cleanup" { 0.06 } else { 0.02 };
            assert!(
                replay.max_eef_deviation < tolerance,
                "{id}/{seed}: the replay strays {} m",
                replay.max_eef_deviation
            );
        }
    }

    #[test]
    fn lift_demo_succeeds_and_replays_open_loop() {
        demo_succeeds_and_replays("lift", &[1, 2]);
    }

    #[test]
    fn stack_demo_succeeds_and_replays_open_loop() {
        demo_succeeds_and_replays("stack", &[1, 2]);
    }

    #[test]
    fn square_demo_succeeds_and_replays_open_loop() {
        demo_succeeds_and_replays("square", &[1, 2]);
    }

    #[test]
    fn pick_place_demo_succeeds_and_replays_open_loop() {
        demo_succeeds_and_replays("pick_place", &[1, 2]);
    }

    #[test]
    fn conveyor_demo_succeeds_and_replays_open_loop() {
        demo_succeeds_and_replays("conveyor", &[1, 2]);
    }

    #[test]
    fn mug_cleanup_demo_succeeds_and_replays_open_loop() {
        demo_succeeds_and_replays("mug_cleanup", &[1, 2]);
    }

    #[test]
    fn stack_three_demo_succeeds_and_replays() {
        demo_succeeds_and_replays("stack_three", &[1, 2]);
    }

    #[test]
    fn hammer_cleanup_demo_succeeds_and_replays() {
        demo_succeeds_and_replays("hammer_cleanup", &[1, 2]);
    }

    #[test]
    fn replay_rejects_malformed_demos() {
        let task = Task::by_id("lift").unwrap();
        let mut demo = scripted_demo("lift", 0).unwrap();
        demo.gripper.pop();
        assert!(replay_open_loop(&task, &demo, &PhysicsSettings::default()).is_err());
        let mut demo = scripted_demo("lift", 0).unwrap();
        demo.objects[0].name = "ball".into();
        assert!(replay_open_loop(&task, &demo, &PhysicsSettings::default()).is_err());
    }

    #[test]
    fn scripted_demo_is_reproducible_and_seeded() {
        let a = scripted_demo("lift", 4).unwrap();
        let b = scripted_demo("lift", 4).unwrap();
        assert_eq!(a, b);
        let c = scripted_demo("lift", 5).unwrap();
        assert_ne!(a.objects[0].poses[0], c.objects[0].poses[0]);
        assert!(scripted_demo("juggle", 0).is_err());
    }

    #[test]
    fn min_jerk_is_smooth_at_both_ends() {
        assert_eq!(min_jerk(0.0), 0.0);
        assert_eq!(min_jerk(1.0), 1.0);
        let h = 1e-4;
        assert!(min_jerk(h) / h < 1e-6);
        assert!((1.0 - min_jerk(1.0 - h)) / h < 1e-6);
    }
}

//! Closed-loop evaluation of a policy in the task's physics.
//!
//! Episode `i` of an evaluation with seed `s` starts from the scene of generation attempt
//! `i` with seed `s` (objects and dynamics drawn from `rng::episode_seed(s, i)`), so an
//! evaluation is deterministic per (policy, config, seed, episode index) and does not
//! depend on threads or workers. The default seed ([`DEFAULT_EVAL_SEED`]) differs from
//! generation's default, so evaluation scenes are not the training scenes.
//!
//! Every control step (20 Hz) the policy sees exactly what a dataset records
//! ([`crate::export::observe`], the policy's keys) and its action is applied with the
//! dataset's semantics: delta actions move the target from the measured hand pose by
//! `a * (0.05 m, 0.5 rad)`, absolute actions are the target; the gripper closes when the
//! last value is positive. The arm follows through the same differential IK and joint
//! servos as generation.
//!
//! Dynamic variants move objects as generation does (the same plans), timed by the
//! task's progress instead of a demo's segments: the current task subtask advances when
//! its object is grasped (grasp) or released (place), and its phase is the time spent in
//! it over its nominal duration in the scripted demo
//! ([`crate::task::scripted::subtask_durations`]).
//!
//! Success is the task predicate held for the task's hold time, as in robomimic's and
//! MimicGen's rollouts: contacts do not end an episode (generation, which curates data,
//! discards an attempt at the first hard contact; a policy is judged on the task). An
//! episode that fails gets one reason, the first that applies: `physics_error` (ends it
//! at once), `collision` (the arm or hand pressed on the table or a fixture at some step,
//! generation's thresholds), `dropped` (held, then lost while the gripper was closed),
//! `missed_grasp` (closed on nothing), `misplaced` (released off target) or `timeout`
//! (never closed, or still holding).

pub use super::{EvalConfig, DEFAULT_EVAL_SEED, MAX_EVAL_EPISODES};
use super::{Policy, PolicyError};
use crate::export::{
    observe, EpisodeRecord, ObjectLayout, Observation, StepRecord, POS_ACTION_SCALE,
    ROT_ACTION_SCALE,
};
use crate::generate::{dynamics_config, is_collision, sample_scene, FailureReason};
use crate::geom::{Pose, Quat, Vec3};
use crate::sim::{PandaWorld, PhysicsSettings, World};
use crate::task::dynamics::{DynamicsConfig, DynamicsPlan};
use crate::task::{SubtaskKind, SuccessTracker, Task};
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::stats::wilson;

/// One stage of a task's funnel: how far an episode got.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// The object is in the hand.
    Grasped(usize),
    /// The held object is 3 cm or more above where it started.
    Lifted(usize),
    /// The held object `0` was let go with its centre over object `1` (within `1`'s
    /// footprint in x and y).
    Released(usize, usize),
    /// A pull or push subtask moved its jointed object far enough (the subtask's index).
    Moved(usize),
    /// The task's success predicate held for its hold time.
    Success,
}

/// Height above its starting height at which a held object counts as lifted (m).
pub const LIFTED_HEIGHT: f64 = 0.03;

/// The funnel of a task: for each subtask of its outline, in order, the stages it
/// passes (a grasp: grasped, then lifted unless a lift subtask follows; a place:
/// released over its object; a lift: lifted; a pull or push: moved), then success.
pub fn funnel_stages(task: &Task) -> Vec<(String, Stage)> {
    let mut v = Vec::new();
    let mut held: Option<usize> = None;
    for (k, s) in task.subtasks.iter().enumerate() {
        let Ok(o) = task.object_index(&s.object) else {
            continue;
        };
        match s.kind {
            SubtaskKind::Grasp => {
                held = Some(o);
                v.push((format!("grasped {}", s.object), Stage::Grasped(o)));
                let lift_next = task
                    .subtasks
                    .get(k + 1)
                    .is_some_and(|n| n.kind == SubtaskKind::Lift);
                if !lift_next {
                    v.push((format!("lifted {}", s.object), Stage::Lifted(o)));
                }
            }
            SubtaskKind::Lift => {
                v.push((
                    format!("lifted {}", s.object),
                    Stage::Lifted(held.unwrap_or(o)),
                ));
            }
            SubtaskKind::Place => {
                if let Some(h) = held.take() {
                    v.push((
                        format!("released {} over {}", task.objects[h].name, s.object),
                        Stage::Released(h, o),
                    ));
                }
            }
            SubtaskKind::Pull | SubtaskKind::Push => {
                v.push((s.name.replace('_', " "), Stage::Moved(k)));
            }
        }
    }
    v.push(("success".into(), Stage::Success));
    v
}

/// Something that happened during an evaluation episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An object came into the hand.
    Grasp,
    /// The held object was lost while the gripper stayed closed.
    Drop,
    /// The gripper opened and let go of the held object.
    Release,
    /// The gripper closed and, once closed, held nothing.
    MissedGrasp,
    /// The arm or hand began pressing on the table or a fixture (generation's thresholds).
    Collision,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Grasp => "grasp",
            EventKind::Drop => "drop",
            EventKind::Release => "release",
            EventKind::MissedGrasp => "missed_grasp",
            EventKind::Collision => "collision",
        }
    }
}

/// An event and the control step it happened at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EvalEvent {
    pub step: usize,
    pub kind: EventKind,
}

/// Control steps after a close command at which an empty hand counts as a missed grasp.
const MISS_AFTER_STEPS: usize = 10;

/// One evaluation episode's result.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalEpisode {
    pub index: u64,
    pub success: bool,
    pub failure: Option<FailureReason>,
    /// Stages of [`funnel_stages`] reached, in order (a stage counts only after the ones
    /// before it).
    pub reached: usize,
    /// Every event, in order.
    pub events: Vec<EvalEvent>,
    /// Whether the dynamics plan moved something in this episode.
    pub dynamic: bool,
    /// Control steps run.
    pub steps: usize,
    /// The rollout, in the dataset's episode form (replay, export).
    pub episode: EpisodeRecord,
}

impl EvalEpisode {
    /// The episode as one JSON object (what `dmgen eval --episodes-out` writes a line of and
    /// the page's workers post): outcome, furthest funnel stage (`stages` from
    /// [`Evaluator::stage_names`]) and events.
    pub fn to_json(&self, stages: &[String]) -> serde_json::Value {
        serde_json::json!({
            "index": self.index,
            "success": self.success,
            "failure": self.failure.map(|f| f.as_str()),
            "dynamic": self.dynamic,
            "steps": self.steps,
            "reached": self.reached,
            "furthest_stage": self.reached.checked_sub(1).and_then(|i| stages.get(i)),
            "events": self.events,
        })
    }
}

/// The statistics of an evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EvalSummary {
    pub episodes: u64,
    pub successes: u64,
    pub success_rate: f64,
    /// Wilson score 95% interval of the success rate.
    pub ci95: [f64; 2],
    pub failure_reasons: BTreeMap<String, u64>,
    /// Episodes that reached each stage of the task's funnel, in order.
    pub funnel: Vec<(String, u64)>,
    /// Episodes in which each kind of event happened at least once.
    pub events: BTreeMap<String, u64>,
    /// Episodes in which the dynamics plan moved something, and their successes.
    pub dynamic_episodes: u64,
    pub dynamic_successes: u64,
}

impl EvalSummary {
    /// An empty summary of an evaluation on `task` (its funnel's stages at 0).
    pub fn for_task(task: &Task) -> EvalSummary {
        EvalSummary {
            funnel: funnel_stages(task)
                .into_iter()
                .map(|(n, _)| (n, 0))
                .collect(),
            ..EvalSummary::default()
        }
    }

    pub fn add(&mut self, e: &EvalEpisode) {
        for (_, n) in self.funnel.iter_mut().take(e.reached) {
            *n += 1;
        }
        let mut kinds: Vec<&str> = e.events.iter().map(|v| v.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for k in kinds {
            *self.events.entry(k.to_string()).or_default() += 1;
        }
        self.episodes += 1;
        self.successes += u64::from(e.success);
        if e.dynamic {
            self.dynamic_episodes += 1;
            self.dynamic_successes += u64::from(e.success);
        }
        if let Some(f) = e.failure {
            *self
                .failure_reasons
                .entry(f.as_str().to_string())
                .or_default() += 1;
        }
        self.success_rate = self.successes as f64 / self.episodes as f64;
        self.ci95 = wilson(self.successes, self.episodes);
    }
}

/// The evaluation world of a config: task, dynamics, timing. Immutable and cheap to
/// share between threads; each episode builds its own world.
#[derive(Clone, Debug)]
pub struct Evaluator {
    task: Task,
    stages: Vec<(String, Stage)>,
    dynamics: DynamicsConfig,
    durations: Vec<f64>,
    horizon: f64,
    seed: u64,
    episodes: u32,
}

fn cfg_err(m: impl Into<String>) -> PolicyError {
    PolicyError::Config(m.into())
}

impl Evaluator {
    pub fn new(c: &EvalConfig) -> Result<Evaluator, PolicyError> {
        c.validate()?;
        let g = c.generation();
        let task = g.build_task().map_err(|e| cfg_err(e.to_string()))?;
        let durations =
            crate::task::scripted::subtask_durations(&task).map_err(|e| cfg_err(e.to_string()))?;
        // Generation's time limit for the built-in demo's length.
        let horizon = task.horizon.max(1.5 * durations.iter().sum::<f64>() + 2.0);
        Ok(Evaluator {
            dynamics: dynamics_config(&g),
            stages: funnel_stages(&task),
            task,
            durations,
            horizon,
            seed: c.seed,
            episodes: c.episodes,
        })
    }

    pub fn task(&self) -> &Task {
        &self.task
    }
    /// The task's funnel stages (names), in order.
    pub fn stage_names(&self) -> Vec<String> {
        self.stages.iter().map(|(n, _)| n.clone()).collect()
    }
    /// An empty summary of this evaluation.
    pub fn summary(&self) -> EvalSummary {
        EvalSummary::for_task(&self.task)
    }
    /// The same evaluation world with scenes drawn from seed `seed` (episode `i` is then
    /// generation attempt `i` of a config with that seed).
    pub fn with_seed(mut self, seed: u64) -> Evaluator {
        self.seed = seed;
        self
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn episodes(&self) -> u32 {
        self.episodes
    }
    /// Seconds an episode may last.
    pub fn horizon(&self) -> f64 {
        self.horizon
    }

    /// Check that `policy` can act in this task (its observation widths).
    pub fn check(&self, policy: &Policy) -> Result<(), PolicyError> {
        if let Some(f) = &policy.config().features {
            let here = super::features::Features::for_task(&self.task);
            if *f != here {
                return Err(cfg_err(format!(
                    "the policy observes objects {:?}; task '{}' has {:?} (a policy trained on another task?)",
                    f.objects, self.task.id, here.objects
                )));
            }
        }
        let keys = match policy.config().input {
            super::InputKind::Features => Vec::new(),
            super::InputKind::Keys => policy.config().obs_keys(),
        };
        let layout = ObjectLayout::for_task(&self.task, policy.config().object_layout);
        for (k, w) in keys {
            let want = crate::export::low_dim_width(&k, &layout).ok_or_else(|| {
                cfg_err(format!(
                    "the policy observes '{k}', which this tool's environments do not provide"
                ))
            })?;
            if w != want {
                return Err(cfg_err(format!(
                    "the policy's '{k}' is {w} wide; task '{}' gives {want} (a policy trained on another task?)",
                    self.task.id
                )));
            }
        }
        if policy.config().action_space == super::ActionSpace::Dataset
            && policy.config().action_dim != 7
        {
            return Err(cfg_err(format!(
                "the policy outputs {} action values; this tool's arm takes 7",
                policy.config().action_dim
            )));
        }
        if !matches!(policy.config().actions.as_str(), "delta" | "abs") {
            return Err(cfg_err(format!(
                "unknown action convention '{}'",
                policy.config().actions
            )));
        }
        Ok(())
    }

    /// A stepping rollout of episode `index` (the page previews it step by step).
    pub fn rollout(&self, index: u64) -> Result<PolicyRollout, PolicyError> {
        let (poses, plan, _) = sample_scene(&self.task, &self.dynamics, self.seed, index);
        let world = PandaWorld::with_poses(&self.task, PhysicsSettings::default(), &poses);
        Ok(PolicyRollout {
            start_z: poses.iter().map(|p| p.pos.z()).collect(),
            reached: 0,
            events: Vec::new(),
            closed_at: None,
            was_colliding: false,
            ev: self.clone(),
            index,
            world: world.ok(),
            plan,
            tracker: SuccessTracker::new(&self.task),
            sub: 0,
            sub_start: 0.0,
            ever_closed: false,
            ever_held: false,
            dropped: false,
            collided: false,
            steps: Vec::new(),
            outcome: None,
            final_obs: None,
        })
    }

    /// Run episode `index` to its end with `policy` (reset first).
    pub fn episode(&self, policy: &mut Policy, index: u64) -> Result<EvalEpisode, PolicyError> {
        self.check(policy)?;
        policy.set_task(&self.task);
        policy.reset(crate::rng::episode_seed(self.seed, index))?;
        let mut r = self.rollout(index)?;
        while !r.step(policy)? {}
        Ok(r.finish())
    }
}

/// The policy's input from one observation, keys in `keys` order: the values the dataset
/// writer records for them (`export::push_low_dim`, `object` in layout `layout`), as f32.
pub fn obs_vector(o: &Observation, keys: &[(String, usize)], layout: &ObjectLayout) -> Vec<f32> {
    let (eef, objects) = crate::export::unit_poses(o);
    let mut v = Vec::with_capacity(keys.iter().map(|k| k.1).sum());
    for (k, _) in keys {
        crate::export::push_low_dim(k, &eef, o, &objects, layout, |x| {
            v.extend(x.iter().map(|x| *x as f32))
        });
    }
    v
}

/// The hand target and gripper command of an action in `convention` (`delta`: from the
/// measured hand pose `eef`; `abs`: the pose itself).
pub fn action_target(a: &[f64], convention: &str, eef: &Pose) -> (Pose, bool) {
    let c = |x: f64| x.clamp(-1.0, 1.0);
    let closed = a[6] > 0.0;
    if convention == "abs" {
        let pose = Pose::new(
            Vec3::new(a[0], a[1], a[2]),
            Quat::from_rotvec(Vec3::new(a[3], a[4], a[5])),
        );
        return (pose, closed);
    }
    let dp = Vec3::new(c(a[0]), c(a[1]), c(a[2])) * POS_ACTION_SCALE;
    let dr = Vec3::new(c(a[3]), c(a[4]), c(a[5])) * ROT_ACTION_SCALE;
    let pose = Pose::new(
        eef.pos + dp,
        (Quat::from_rotvec(dr) * eef.quat).normalized(),
    );
    (pose, closed)
}

/// A policy episode being run, one control step at a time.
pub struct PolicyRollout {
    ev: Evaluator,
    index: u64,
    /// Objects' heights at the start (m).
    start_z: Vec<f64>,
    /// Funnel stages reached, and the events so far.
    reached: usize,
    events: Vec<EvalEvent>,
    /// Step of the last open-to-closed gripper command, while it stays closed.
    closed_at: Option<usize>,
    was_colliding: bool,
    /// `None` when the scene itself was rejected.
    world: Option<PandaWorld>,
    plan: DynamicsPlan,
    tracker: SuccessTracker,
    /// Task subtask in progress and when it began (s).
    sub: usize,
    sub_start: f64,
    ever_closed: bool,
    ever_held: bool,
    dropped: bool,
    /// The arm or hand pressed on the table or a fixture at some step.
    collided: bool,
    steps: Vec<StepRecord>,
    outcome: Option<Option<FailureReason>>,
    final_obs: Option<Observation>,
}

impl PolicyRollout {
    pub fn world(&self) -> Option<&PandaWorld> {
        self.world.as_ref()
    }
    pub fn outcome(&self) -> Option<(bool, Option<FailureReason>)> {
        self.outcome.map(|f| (f.is_none(), f))
    }
    pub fn steps(&self) -> usize {
        self.steps.len()
    }

    fn end(&mut self, f: Option<FailureReason>) -> bool {
        if self.outcome.is_none() {
            self.outcome = Some(f);
            if let Some(w) = self.world.as_mut() {
                self.final_obs = Some(observe(w));
                for d in 0..w.object_names().len() {
                    w.set_object_drive(d, None);
                }
            }
        }
        true
    }

    /// Advance the task-level subtask from what the hand holds.
    fn track_progress(&mut self, held: Option<usize>, t: f64) {
        let Some(s) = self.ev.task.subtasks.get(self.sub) else {
            return;
        };
        let done = match s.kind {
            SubtaskKind::Grasp => {
                let o = self.ev.task.object_index(&s.object).ok();
                o.is_some() && held == o
            }
            SubtaskKind::Place => held.is_none(),
            SubtaskKind::Lift => false,
            SubtaskKind::Pull | SubtaskKind::Push => self
                .world
                .as_ref()
                .is_some_and(|w| self.ev.task.moved_enough(s, &w.object_poses())),
        };
        if done && self.sub + 1 < self.ev.task.subtasks.len() {
            self.sub += 1;
            self.sub_start = t;
        }
    }

    /// One control step with `policy`; `true` once the episode is over.
    pub fn step(&mut self, policy: &mut Policy) -> Result<bool, PolicyError> {
        let Some(obs) = self.observe() else {
            return Ok(true);
        };
        let input = policy.input(&obs);
        let a = policy.act(&input)?;
        Ok(self.act(obs, &a, &policy.config().actions))
    }

    /// Start a control step: end the episode at the time limit, move objects as the
    /// dynamics plan says, and return what the agent observes (`None` once over).
    pub fn observe(&mut self) -> Option<Observation> {
        if self.outcome.is_some() {
            return None;
        }
        let Some(world) = self.world.as_mut() else {
            self.end(Some(FailureReason::Physics));
            return None;
        };
        let t = world.time();
        if t >= self.ev.horizon - 1e-9 {
            let f = if self.collided {
                FailureReason::Collision
            } else if self.dropped {
                FailureReason::Dropped
            } else if !self.ever_held {
                if self.ever_closed {
                    FailureReason::MissedGrasp
                } else {
                    FailureReason::Timeout
                }
            } else if world.grasped_object().is_some() {
                FailureReason::Timeout
            } else {
                FailureReason::Misplaced
            };
            self.end(Some(f));
            return None;
        }
        let dur = self
            .ev
            .durations
            .get(self.sub)
            .copied()
            .unwrap_or(1.0)
            .max(1e-3);
        let phase = ((t - self.sub_start) / dur).min(1.0);
        self.plan.apply(world, self.sub, phase);
        Some(observe(world))
    }

    /// Finish the control step begun by [`PolicyRollout::observe`] (which returned
    /// `obs`) with action `a` in `convention` (`delta` or `abs`); `true` once the
    /// episode is over.
    pub fn act(&mut self, obs: Observation, a: &[f64], convention: &str) -> bool {
        if self.outcome.is_some() {
            return true;
        }
        let Some(world) = self.world.as_mut() else {
            return self.end(Some(FailureReason::Physics));
        };
        if a.len() < 7 || a.iter().any(|x| !x.is_finite()) {
            return self.end(Some(FailureReason::Physics));
        }
        let (target, closed) = action_target(a, convention, &obs.eef);
        let held_before = world.grasped_object();
        let stepped = world.command(&target, closed).and_then(|_| world.step());
        let n_sub = self.ev.task.subtasks.len();
        let mut record = StepRecord {
            obs,
            target,
            gripper_closed: closed,
            reward: 0.0,
            subtask: self.sub.min(n_sub.saturating_sub(1)),
        };
        if stepped.is_err() {
            self.steps.push(record);
            return self.end(Some(FailureReason::Physics));
        }
        let held = world.grasped_object();
        let poses = world.object_poses();
        let predicate = self.ev.task.predicate(&poses, held);
        record.reward = if predicate { 1.0 } else { 0.0 };
        let succeeded = self.tracker.update_with(predicate, world.time());
        let contact = world.robot_contact();
        let now = world.time();
        let k = self.steps.len();
        let was_closed = self.steps.last().is_some_and(|s| s.gripper_closed);
        self.steps.push(record);
        self.ever_closed |= closed;
        if held.is_some() {
            self.ever_held = true;
            self.dropped = false;
        } else if closed && held_before.is_some() {
            self.dropped = true;
        }
        self.track_progress(held, now);
        let colliding = is_collision(&contact);
        if colliding {
            self.collided = true;
        }
        self.note_events(k, held_before, held, was_closed, closed, colliding);
        self.advance_funnel(&poses, held, succeeded);
        if succeeded {
            return self.end(None);
        }
        false
    }

    fn note_events(
        &mut self,
        k: usize,
        held_before: Option<usize>,
        held: Option<usize>,
        was_closed: bool,
        closed: bool,
        colliding: bool,
    ) {
        let mut push = |kind| self.events.push(EvalEvent { step: k, kind });
        if held.is_some() && held != held_before {
            push(EventKind::Grasp);
        }
        if held_before.is_some() && held.is_none() {
            push(if closed {
                EventKind::Drop
            } else {
                EventKind::Release
            });
        }
        if colliding && !self.was_colliding {
            push(EventKind::Collision);
        }
        self.was_colliding = colliding;
        if closed && !was_closed {
            self.closed_at = Some(k);
        } else if !closed {
            self.closed_at = None;
        }
        if let Some(c) = self.closed_at {
            if held.is_some() {
                self.closed_at = None;
            } else if k >= c + MISS_AFTER_STEPS {
                self.closed_at = None;
                self.events.push(EvalEvent {
                    step: k,
                    kind: EventKind::MissedGrasp,
                });
            }
        }
    }

    /// Count the funnel's next stages that hold now (each only after those before it).
    fn advance_funnel(&mut self, poses: &[Pose], held: Option<usize>, succeeded: bool) {
        while let Some(stage) = self.ev.stages.get(self.reached).map(|s| s.1.clone()) {
            let done = match stage {
                Stage::Grasped(o) => held == Some(o),
                Stage::Lifted(o) => {
                    held == Some(o) && poses[o].pos.z() >= self.start_z[o] + LIFTED_HEIGHT
                }
                Stage::Released(o, over) => {
                    let r = self.ev.task.objects[over].footprint_radius();
                    let d = poses[o].pos - poses[over].pos;
                    held.is_none() && crate::geom::m::sqrt(d.x() * d.x() + d.y() * d.y()) <= r
                }
                Stage::Moved(s) => self.ev.task.moved_enough(&self.ev.task.subtasks[s], poses),
                Stage::Success => succeeded,
            };
            if !done {
                break;
            }
            self.reached += 1;
        }
    }

    /// The finished episode (runs nothing more; an unfinished one counts as a timeout).
    pub fn finish(mut self) -> EvalEpisode {
        if self.outcome.is_none() {
            self.end(Some(FailureReason::Timeout));
        }
        let failure = self.outcome.flatten();
        let success = failure.is_none();
        let final_obs = self
            .final_obs
            .take()
            .or_else(|| self.steps.last().map(|s| s.obs.clone()))
            .unwrap_or_else(|| Observation {
                eef: Pose::IDENTITY,
                finger_qpos: [0.0; 2],
                joint_pos: [0.0; 7],
                objects: Vec::new(),
                state: Vec::new(),
            });
        EvalEpisode {
            index: self.index,
            success,
            failure,
            reached: self.reached,
            events: std::mem::take(&mut self.events),
            dynamic: self.plan.is_dynamic(),
            steps: self.steps.len(),
            episode: EpisodeRecord {
                attempt: self.index,
                seed: crate::rng::episode_seed(self.ev.seed, self.index),
                success,
                object_names: self.ev.task.object_names(),
                subtask_names: self
                    .ev
                    .task
                    .subtasks
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                steps: self.steps,
                final_obs,
                images: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GenerationConfig, Variant};
    use crate::export::delta_action;
    use crate::generate::Generator;

    /// A successful generated stack attempt (static) and an evaluator on generation's seed,
    /// so `ev.rollout(att.index)` starts from that attempt's scene.
    fn generated_stack_attempt() -> (crate::generate::Attempt, Evaluator) {
        let gen_cfg = GenerationConfig {
            task: "stack".into(),
            variant: Variant::Static,
            ..GenerationConfig::default()
        };
        let g = Generator::new(&gen_cfg, None).unwrap();
        let att = (0..6).map(|i| g.attempt(i)).find(|a| a.success).unwrap();
        let ev = Evaluator::new(&EvalConfig {
            task: "stack".into(),
            seed: gen_cfg.seed,
            episodes: 1,
            ..EvalConfig::default()
        })
        .unwrap();
        (att, ev)
    }

    /// The evaluation world is generation's: a generated episode's own delta actions,
    /// fed back through the evaluation loop from the same scene, retrace it and succeed.
    #[test]
    fn a_generated_episodes_actions_replay_in_the_evaluation_loop() {
        let (att, ev) = generated_stack_attempt();
        let mut r = ev.rollout(att.index).unwrap();
        let mut dev = 0.0f64;
        for s in &att.episode.steps {
            let Some(obs) = r.observe() else { break };
            dev = dev.max((obs.eef.pos - s.obs.eef.pos).norm());
            let a = delta_action(&s.obs.eef, &s.target, s.gripper_closed);
            if r.act(obs, &a, "delta") {
                break;
            }
        }
        let e = r.finish();
        assert!(
            e.success,
            "{:?} after {} steps, deviation {dev}",
            e.failure, e.steps
        );
        assert!(
            dev < 1e-3,
            "hand deviates {dev} m from the generated episode"
        );
        // The whole funnel, in order, and the events of a clean stack.
        assert_eq!(
            ev.stage_names(),
            [
                "grasped cubeA",
                "lifted cubeA",
                "released cubeA over cubeB",
                "success"
            ]
        );
        assert_eq!(e.reached, 4);
        let kinds: Vec<EventKind> = e.events.iter().map(|v| v.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Grasp, EventKind::Release],
            "{:?}",
            e.events
        );
    }

    /// A hand-built episode: a generated stack episode's actions, but the gripper opens
    /// while the cube is carried high over the table. The funnel stops after "lifted",
    /// the cube is released away from cube B, and the episode fails as misplaced.
    #[test]
    fn the_funnel_says_how_far_a_hand_built_episode_got() {
        let (att, ev) = generated_stack_attempt();
        let start_z = att.episode.steps[0].obs.objects[0].pos.z();
        let mut r = ev.rollout(att.index).unwrap();
        let mut opened_at = None;
        let mut summary = ev.summary();
        for (k, s) in att.episode.steps.iter().enumerate() {
            let Some(obs) = r.observe() else { break };
            let high = obs.objects[0].pos.z() > start_z + 0.08;
            if high && opened_at.is_none() && s.gripper_closed {
                opened_at = Some(k);
            }
            let closed = s.gripper_closed && opened_at.is_none();
            let a = delta_action(&s.obs.eef, &s.target, closed);
            if r.act(obs, &a, "delta") {
                break;
            }
        }
        // The demo's actions are spent: hold the hand still, open, until the time limit.
        while let Some(obs) = r.observe() {
            let a = delta_action(&obs.eef, &obs.eef, false);
            if r.act(obs, &a, "delta") {
                break;
            }
        }
        let e = r.finish();
        summary.add(&e);
        let k = opened_at.expect("the cube was carried 8 cm up");
        assert!(!e.success);
        assert_eq!(e.failure, Some(FailureReason::Misplaced));
        assert_eq!(
            e.reached, 2,
            "grasped and lifted, never released over cube B"
        );
        let release = e
            .events
            .iter()
            .find(|v| v.kind == EventKind::Release)
            .expect("a release event");
        assert!(release.step >= k && release.step <= k + 5, "{:?}", e.events);
        assert_eq!(e.events[0].kind, EventKind::Grasp);
        let counts: Vec<u64> = summary.funnel.iter().map(|f| f.1).collect();
        assert_eq!(counts, [1, 1, 0, 0]);
        assert_eq!(summary.events.get("release"), Some(&1));
    }
}

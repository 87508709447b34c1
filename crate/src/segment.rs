//! Automatic segmentation of a demo into ordered, object-centric subtasks.
//!
//! # Algorithm
//! 1. **Gripper events.** The gripper command is thresholded with hysteresis
//!    (closed above `close_threshold`, open below `open_threshold`) and runs
//!    shorter than `min_run` samples are merged into their neighbours, which
//!    removes glitches. Each remaining open/closed change is an event.
//! 2. **Boundaries.** Every event ends a subtask. If the demo carries MimicGen
//!    `subtask_term_signals`, those are honoured first: each subtask ends at the
//!    first 0 -> 1 transition after the previous end (signals ordered by that
//!    transition); gripper events more than `refine_window` samples from every
//!    signal boundary are kept too (MimicGen's stack has only a `grasp` signal,
//!    yet the release must end the place subtask so the gripper opens there).
//! 3. **Refinement** (automatic boundaries only). The operator usually stops, then
//!    presses close/open. A boundary moves back, within `refine_window` samples, to
//!    the first sample where the smoothed end-effector speed is within
//!    `speed_tolerance` of its minimum in that window, provided the gripper (for a
//!    grasp) or the held object (for a place) is within `near_dist` of the
//!    reference object there. Boundaries that would leave a subtask shorter than
//!    `min_len` samples are dropped.
//! 4. **Classification** from the gripper state before and after each subtask:
//!    open -> closed is a grasp, closed -> open a place, closed -> closed a carry
//!    (a demo that ends holding, e.g. lift), open -> open a reach (or a retreat
//!    after a place).
//! 5. **Reference objects.** Grasp: the object nearest to the gripper at the
//!    subtask's last sample. Place: the object, other than the held one, nearest
//!    to the held object at the last sample (the held object is the one nearest
//!    to the gripper when the subtask starts). Carry: the held object, *frozen at
//!    the subtask's start* (`object_frame_at_start`), because a frame that moves
//!    with the gripper cannot define a goal. Reach/retreat: the object nearest to
//!    the gripper at the last sample. A place with no other object falls back to
//!    the held object frozen at the start.
//!
//! Manual corrections ([`SegmentOverrides`]) replace the boundaries and/or the
//! reference objects; everything else is recomputed from the demo.

use crate::demo::Demo;
use crate::geom::{Pose, Vec3};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `format` tag of a task spec.
pub const TASKSPEC_FORMAT: &str = "dmgen-taskspec/1";

/// Errors from segmentation and task specs.
#[derive(Clone, Debug, PartialEq)]
pub enum SegmentError {
    /// The demo has no samples.
    EmptyDemo,
    /// The demo has no object tracks: subtasks cannot be object-centric.
    NoObjects,
    /// Override boundaries are not strictly increasing inside (0, T).
    BadBoundaries(String),
    /// The override object list does not match the subtasks.
    BadObjects(String),
    /// The task spec JSON is malformed.
    Json(String),
    /// A task spec does not fit the demo it is applied to.
    Mismatch(String),
}

impl fmt::Display for SegmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SegmentError::EmptyDemo => write!(f, "the demo has no samples"),
            SegmentError::NoObjects => write!(
                f,
                "the demo has no object poses, so subtasks cannot be tied to objects; use a format that carries objects (JSON, CSV, MimicGen datagen_info)"
            ),
            SegmentError::BadBoundaries(m) => write!(f, "invalid subtask boundaries: {m}"),
            SegmentError::BadObjects(m) => write!(f, "invalid subtask objects: {m}"),
            SegmentError::Json(m) => write!(f, "invalid task spec: {m}"),
            SegmentError::Mismatch(m) => write!(f, "task spec does not match the demo: {m}"),
        }
    }
}

impl std::error::Error for SegmentError {}

/// What a subtask does with the gripper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SubtaskKind {
    /// Open at the start, closes when the subtask ends.
    Grasp,
    /// Holding at the start, opens when the subtask ends.
    Place,
    /// Holding throughout (e.g. the final lift).
    Carry,
    /// Open throughout (approach, or retreat after a place).
    #[default]
    Reach,
    /// Open throughout, pulling an object without holding it (hooking a drawer's
    /// handle and opening the drawer).
    Pull,
    /// Open throughout, pushing an object without holding it (closing a drawer).
    Push,
}

/// One object-centric subtask: samples `[start, end)` of the demo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subtask {
    /// Human-readable name: `grasp cubeA`, `place on cubeB`, `lift cubeA`, ...
    pub name: String,
    /// The reference object whose frame defines the subtask's goal.
    pub object: String,
    /// First sample (inclusive).
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
    /// End-effector pose at sample `end - 1` in the reference object's frame at
    /// that sample (or at `start` when `object_frame_at_start`).
    pub end_pose_in_object: Pose,
    /// Gripper state to command once the subtask is done (true = closed).
    pub gripper_closed_at_end: bool,
    #[serde(default)]
    pub kind: SubtaskKind,
    /// The goal is relative to the object's pose when the subtask *starts*
    /// (used for carry subtasks, whose object moves with the gripper).
    #[serde(default)]
    pub object_frame_at_start: bool,
}

impl Subtask {
    /// The end-effector goal in the world for this subtask, given the reference
    /// object's pose now (or, when `object_frame_at_start`, its pose when the
    /// subtask started): `object_pose * end_pose_in_object`.
    pub fn goal_pose(&self, object_pose: &Pose) -> Pose {
        object_pose.compose(&self.end_pose_in_object)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An ordered list of subtasks; round-trips through JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Always [`TASKSPEC_FORMAT`].
    pub format: String,
    pub subtasks: Vec<Subtask>,
}

impl TaskSpec {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<TaskSpec, SegmentError> {
        let spec: TaskSpec =
            serde_json::from_str(text).map_err(|e| SegmentError::Json(e.to_string()))?;
        if spec.format != TASKSPEC_FORMAT {
            return Err(SegmentError::Json(format!(
                "'format' is '{}', expected '{TASKSPEC_FORMAT}'",
                spec.format
            )));
        }
        Ok(spec)
    }

    /// Check that the subtasks tile `[0, T)` of `demo` in order and name its objects.
    pub fn check_against(&self, demo: &Demo) -> Result<(), SegmentError> {
        let mut at = 0;
        for (i, s) in self.subtasks.iter().enumerate() {
            if s.start != at || s.end <= s.start {
                return Err(SegmentError::Mismatch(format!(
                    "subtask {i} covers [{}, {}), expected to start at {at}",
                    s.start, s.end
                )));
            }
            if demo.object_index(&s.object).is_none() {
                return Err(SegmentError::Mismatch(format!(
                    "subtask {i}: unknown object '{}'",
                    s.object
                )));
            }
            at = s.end;
        }
        if at != demo.len() {
            return Err(SegmentError::Mismatch(format!(
                "subtasks end at {at} but the demo has {} samples",
                demo.len()
            )));
        }
        Ok(())
    }

    /// Interior boundaries (`end` of every subtask but the last).
    pub fn boundaries(&self) -> Vec<usize> {
        let n = self.subtasks.len().saturating_sub(1);
        self.subtasks.iter().take(n).map(|s| s.end).collect()
    }
}

/// Manual corrections applied on top of the automatic result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentOverrides {
    /// Interior boundaries, strictly increasing, each in `1..T` (k boundaries give
    /// k + 1 subtasks).
    #[serde(default)]
    pub boundaries: Option<Vec<usize>>,
    /// One entry per subtask: `Some(name)` replaces its reference object.
    #[serde(default)]
    pub objects: Option<Vec<Option<String>>>,
}

/// Tuning of the automatic segmentation (defaults suit 20 Hz demos).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentParams {
    /// Gripper command above which it counts as closed (default 0.6).
    pub close_threshold: f64,
    /// Gripper command below which it counts as open (default 0.4).
    pub open_threshold: f64,
    /// Open/closed runs shorter than this many samples are glitches (default 3).
    pub min_run: usize,
    /// How far back (samples) a boundary may move to a speed minimum (default 10).
    pub refine_window: usize,
    /// Speed within this much of the window's minimum counts as stopped, m/s (default 0.01).
    pub speed_tolerance: f64,
    /// Proximity required for refinement, m (default 0.08).
    pub near_dist: f64,
    /// Moving-average window for speeds, samples (default 5).
    pub smooth: usize,
    /// Shortest subtask, samples (default 3; a DMP needs 3).
    pub min_len: usize,
}

impl Default for SegmentParams {
    fn default() -> Self {
        SegmentParams {
            close_threshold: 0.6,
            open_threshold: 0.4,
            min_run: 3,
            refine_window: 10,
            speed_tolerance: 0.01,
            near_dist: 0.08,
            smooth: 5,
            min_len: 3,
        }
    }
}

/// Open (false) / closed (true) per sample, with hysteresis and glitch removal.
pub fn gripper_states(gripper: &[f64], p: &SegmentParams) -> Vec<bool> {
    let mut state = gripper.first().map(|&g| g > 0.5).unwrap_or(false);
    let mut out: Vec<bool> = gripper
        .iter()
        .map(|&g| {
            if g > p.close_threshold {
                state = true;
            } else if g < p.open_threshold {
                state = false;
            }
            state
        })
        .collect();
    // Merge short runs into the preceding run (the first run into the next).
    loop {
        let runs = runs_of(&out);
        if runs.len() <= 1 {
            break;
        }
        let Some(&(s, e)) = runs.iter().find(|(s, e)| e - s < p.min_run) else {
            break;
        };
        let fill = if s == 0 { !out[s] } else { out[s - 1] };
        for v in &mut out[s..e] {
            *v = fill;
        }
    }
    out
}

fn runs_of(v: &[bool]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut s = 0;
    for k in 1..=v.len() {
        if k == v.len() || v[k] != v[s] {
            runs.push((s, k));
            s = k;
        }
    }
    runs
}

/// Sample indices where the (cleaned) gripper state changes.
pub fn gripper_events(states: &[bool]) -> Vec<usize> {
    (1..states.len())
        .filter(|&k| states[k] != states[k - 1])
        .collect()
}

/// Smoothed end-effector speed per sample, m/s.
fn speeds(demo: &Demo, smooth: usize) -> Vec<f64> {
    let n = demo.len();
    let half = smooth / 2;
    let pos: Vec<Vec3> = (0..n)
        .map(|k| {
            let (a, b) = (k.saturating_sub(half), (k + half + 1).min(n));
            let sum = demo.eef[a..b].iter().fold(Vec3::ZERO, |acc, p| acc + p.pos);
            sum * (1.0 / (b - a) as f64)
        })
        .collect();
    (0..n)
        .map(|k| {
            if k == 0 {
                return 0.0;
            }
            let dt = (demo.t[k] - demo.t[k - 1]).max(1e-9);
            (pos[k] - pos[k - 1]).norm() / dt
        })
        .collect()
}

fn nearest_object(demo: &Demo, p: Vec3, k: usize, exclude: Option<usize>) -> Option<usize> {
    demo.objects
        .iter()
        .enumerate()
        .filter(|(j, _)| Some(*j) != exclude)
        .filter_map(|(j, o)| o.poses.get(k).map(|q| (j, (q.pos - p).norm())))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(j, _)| j)
}

/// The task geometry of a demo's objects (from the demo's task, when it names one and
/// the object names match): distances to an object are measured to its surface.
struct Shapes {
    specs: Vec<Option<crate::task::ObjectSpec>>,
}

impl Shapes {
    fn of(demo: &Demo) -> Shapes {
        let task = demo
            .task
            .as_deref()
            .and_then(|t| crate::task::Task::by_id(t).ok());
        Shapes::in_task(demo, task.as_ref())
    }

    /// The geometry `task` gives the demo's objects (by name).
    fn in_task(demo: &Demo, task: Option<&crate::task::Task>) -> Shapes {
        let specs = demo
            .objects
            .iter()
            .map(|o| task.and_then(|t| t.objects.iter().find(|s| s.name == o.name).cloned()))
            .collect();
        Shapes { specs }
    }

    /// Distance from `p` to object `j` at sample `k`: to its surface when its shape is
    /// known, else to its origin.
    fn dist(&self, demo: &Demo, j: usize, k: usize, p: Vec3) -> f64 {
        let pose = demo.objects[j].poses[k];
        match self.specs.get(j).and_then(|s| s.as_ref()) {
            Some(spec) => spec.surface_distance(&pose, p),
            None => (pose.pos - p).norm(),
        }
    }
}

/// The hand within this distance of an object's surface (m) can push it.
const PUSH_TOUCH: f64 = 0.03;
/// An object moving faster than this (m/s) is moving.
const PUSH_SPEED: f64 = 0.01;
/// Least displacement (m) of a push worth a subtask.
const PUSH_MIN_TRAVEL: f64 = 0.02;
/// The hand this far from the surface (m) has left the object.
const PUSH_LEFT: f64 = 0.02;

/// One stretch of non-prehensile motion: `object` moved by the open hand over samples
/// `[start, end)`; the subtask ends at `boundary` (the hand has left it, or `end`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct PushMotion {
    object: usize,
    start: usize,
    end: usize,
    boundary: usize,
}

/// Stretches where an object moves while the open hand is at its surface: contact and
/// proximity cues measured against the object's geometry, so a drawer opened by its
/// handle counts and a cube sliding on its own does not.
fn pushes(demo: &Demo, p: &SegmentParams, shapes: &Shapes) -> Vec<PushMotion> {
    let n = demo.len();
    let states = gripper_states(&demo.gripper, p);
    let mut out = Vec::new();
    for j in 0..demo.objects.len() {
        let poses = &demo.objects[j].poses;
        let moving = |k: usize| -> bool {
            if k == 0 || states[k] {
                return false;
            }
            let dt = (demo.t[k] - demo.t[k - 1]).max(1e-9);
            (poses[k].pos - poses[k - 1].pos).norm() / dt > PUSH_SPEED
                && shapes.dist(demo, j, k, demo.eef[k].pos) < PUSH_TOUCH
        };
        let mut k = 1;
        while k < n {
            if !moving(k) {
                k += 1;
                continue;
            }
            let start = k - 1;
            let mut end = k + 1;
            let mut gap = 0;
            let mut q = k + 1;
            while q < n && gap <= 3 {
                if moving(q) {
                    end = q + 1;
                    gap = 0;
                } else {
                    gap += 1;
                }
                q += 1;
            }
            let travel = (poses[end - 1].pos - poses[start].pos).norm();
            if end - start >= 5 && travel >= PUSH_MIN_TRAVEL {
                let last = (end + 2 * p.refine_window).min(n);
                let boundary = (end..last)
                    .find(|&b| shapes.dist(demo, j, b, demo.eef[b].pos) > PUSH_LEFT)
                    .unwrap_or(end.min(n - 1));
                out.push(PushMotion {
                    object: j,
                    start,
                    end,
                    boundary,
                });
            }
            k = end;
        }
    }
    out.sort_by_key(|m| m.start);
    out
}

/// Add the boundaries of `extra` that are more than `refine_window` samples from every
/// boundary already in `out` (sorted; subtasks at least `min_len` long).
fn merge_far(out: &mut Vec<usize>, extra: &[usize], p: &SegmentParams, n: usize) {
    let far: Vec<usize> = extra
        .iter()
        .copied()
        .filter(|&b| out.iter().all(|&e| b.abs_diff(e) > p.refine_window))
        .collect();
    out.extend(far);
    out.sort_unstable();
    let mut kept: Vec<usize> = Vec::with_capacity(out.len());
    for &b in out.iter() {
        let prev = kept.last().copied().unwrap_or(0);
        if b >= prev + p.min_len && b + p.min_len <= n {
            kept.push(b);
        }
    }
    *out = kept;
}

/// The automatic interior boundaries (before overrides).
///
/// Returns no boundaries for a demo whose series have different lengths
/// ([`segment_with`] reports that as an error).
pub fn automatic_boundaries(demo: &Demo, p: &SegmentParams) -> Vec<usize> {
    if !lengths_ok(demo) {
        return Vec::new();
    }
    boundaries_with(demo, p, &pushes(demo, p, &Shapes::of(demo)))
}

/// [`automatic_boundaries`] with the demo's non-prehensile motions already found.
fn boundaries_with(demo: &Demo, p: &SegmentParams, motions: &[PushMotion]) -> Vec<usize> {
    let n = demo.len();
    let mut events = event_boundaries(demo, p);
    // Non-prehensile motion: where the open hand stops moving an object (and leaves it).
    let pushes: Vec<usize> = motions.iter().map(|m| m.boundary).collect();
    merge_far(&mut events, &pushes, p, n);
    if demo.subtask_term_signals.is_empty() {
        return events;
    }
    // Signals win; gripper events far from every signal boundary are kept so that
    // e.g. the release after MimicGen's single `grasp` signal still ends a place.
    let mut out = signal_boundaries(demo);
    merge_far(&mut out, &events, p, n);
    out
}

/// MimicGen boundaries: each subtask ends at the first 0 -> 1 transition of its
/// signal after the previous end; signals are ordered by their first transition.
fn signal_boundaries(demo: &Demo) -> Vec<usize> {
    let n = demo.len();
    let mut firsts: Vec<Vec<usize>> = demo
        .subtask_term_signals
        .iter()
        .map(|(_, s)| {
            (1..s.len())
                .filter(|&k| s[k] == 1 && s[k - 1] == 0)
                .collect()
        })
        .collect();
    firsts.sort_by_key(|v| v.first().copied().unwrap_or(usize::MAX));
    let mut out: Vec<usize> = Vec::new();
    for rises in firsts {
        let prev = out.last().copied().unwrap_or(0);
        if let Some(&k) = rises.iter().find(|&&k| k > prev) {
            if k < n {
                out.push(k);
            }
        }
    }
    out
}

/// Boundaries from gripper events, refined to speed minima near the objects.
fn event_boundaries(demo: &Demo, p: &SegmentParams) -> Vec<usize> {
    let n = demo.len();
    let states = gripper_states(&demo.gripper, p);
    let speed = speeds(demo, p.smooth.max(1));
    let mut out: Vec<usize> = Vec::new();
    for ev in gripper_events(&states) {
        let prev = out.last().copied().unwrap_or(0);
        let closing = states[ev];
        let lo = ev.saturating_sub(p.refine_window).max(prev + p.min_len);
        let mut b = ev;
        if lo < ev {
            let near = |k: usize| -> bool {
                let e = demo.eef[k - 1].pos;
                if closing {
                    nearest_object(demo, e, k - 1, None)
                        .map(|j| (demo.objects[j].poses[k - 1].pos - e).norm() < p.near_dist)
                        .unwrap_or(false)
                } else {
                    let held = nearest_object(demo, e, k - 1, None);
                    match held {
                        Some(h) => {
                            let hp = demo.objects[h].poses[k - 1].pos;
                            nearest_object(demo, hp, k - 1, Some(h))
                                .map(|j| {
                                    (demo.objects[j].poses[k - 1].pos - hp).norm() < p.near_dist
                                })
                                .unwrap_or(false)
                        }
                        None => false,
                    }
                }
            };
            let win = &speed[lo..=ev];
            let vmin = win.iter().copied().fold(f64::INFINITY, f64::min);
            if let Some(k) = (lo..=ev).find(|&k| speed[k] <= vmin + p.speed_tolerance && near(k)) {
                b = k;
            }
        }
        if b >= prev + p.min_len && b < n {
            out.push(b);
        }
    }
    // The last subtask must be long enough too.
    while out.last().is_some_and(|&b| n - b < p.min_len) {
        out.pop();
    }
    out
}

fn lengths_ok(demo: &Demo) -> bool {
    let n = demo.len();
    demo.eef.len() == n
        && demo.gripper.len() == n
        && demo.objects.iter().all(|o| o.poses.len() == n)
        && demo.subtask_term_signals.iter().all(|(_, s)| s.len() == n)
}

fn check_boundaries(b: &[usize], n: usize, min_len: usize) -> Result<(), SegmentError> {
    for (i, &k) in b.iter().enumerate() {
        if k == 0 || k >= n {
            return Err(SegmentError::BadBoundaries(format!(
                "boundary {i} = {k} is outside 1..{n} (the demo has {n} samples)"
            )));
        }
        if i > 0 && k <= b[i - 1] {
            return Err(SegmentError::BadBoundaries(format!(
                "boundary {i} = {k} is not after boundary {} = {}",
                i - 1,
                b[i - 1]
            )));
        }
    }
    let mut edges = vec![0];
    edges.extend_from_slice(b);
    edges.push(n);
    if let Some(w) = edges.windows(2).position(|w| w[1] - w[0] < min_len) {
        return Err(SegmentError::BadBoundaries(format!(
            "subtask {w} would have {} samples, fewer than {min_len} (a DMP needs at least 3)",
            edges[w + 1] - edges[w]
        )));
    }
    Ok(())
}

/// Segment with default parameters and no overrides.
pub fn segment(demo: &Demo) -> Result<TaskSpec, SegmentError> {
    segment_with(demo, &SegmentParams::default(), None)
}

/// Segment `demo`; `overrides` (validated) replace boundaries and/or objects. Distances
/// are measured against the geometry of the built-in task the demo names.
pub fn segment_with(
    demo: &Demo,
    p: &SegmentParams,
    overrides: Option<&SegmentOverrides>,
) -> Result<TaskSpec, SegmentError> {
    segment_in(demo, None, p, overrides)
}

/// [`segment_with`], measuring distances against `task`'s geometry when given (a task
/// file's objects: its drawer's handle, not the drawer's origin), else the geometry of
/// the built-in task the demo names.
pub fn segment_in(
    demo: &Demo,
    task: Option<&crate::task::Task>,
    p: &SegmentParams,
    overrides: Option<&SegmentOverrides>,
) -> Result<TaskSpec, SegmentError> {
    let n = demo.len();
    if n == 0 {
        return Err(SegmentError::EmptyDemo);
    }
    if !lengths_ok(demo) {
        return Err(SegmentError::Mismatch(
            "the demo's series have different lengths; run Demo::validate first".into(),
        ));
    }
    if demo.objects.is_empty() {
        return Err(SegmentError::NoObjects);
    }
    let shapes = match task {
        Some(t) => Shapes::in_task(demo, Some(t)),
        None => Shapes::of(demo),
    };
    let motions = pushes(demo, p, &shapes);
    let bounds = match overrides.and_then(|o| o.boundaries.clone()) {
        Some(b) => {
            check_boundaries(&b, n, p.min_len.max(3))?;
            b
        }
        None => boundaries_with(demo, p, &motions),
    };
    let states = gripper_states(&demo.gripper, p);
    let events = gripper_events(&states);
    // Gripper state after boundary b: after the first event in [b, b + window], else at b.
    let state_after = |b: usize| -> bool {
        if b >= n {
            return states[n - 1];
        }
        match events.iter().find(|&&e| e >= b && e <= b + p.refine_window) {
            Some(&e) => states[e],
            None => states[b],
        }
    };
    let mut edges = vec![0];
    edges.extend(bounds.iter().copied());
    edges.push(n);
    let count = edges.len() - 1;
    let obj_over = overrides.and_then(|o| o.objects.clone());
    if let Some(objs) = &obj_over {
        if objs.len() != count {
            return Err(SegmentError::BadObjects(format!(
                "{} object entries for {count} subtasks",
                objs.len()
            )));
        }
        for name in objs.iter().flatten() {
            if demo.object_index(name).is_none() {
                let known: Vec<&str> = demo.objects.iter().map(|o| o.name.as_str()).collect();
                return Err(SegmentError::BadObjects(format!(
                    "'{name}' is not in the demo (objects: {})",
                    known.join(", ")
                )));
            }
        }
    }
    let mut subtasks = Vec::with_capacity(count);
    let mut before = states[0];
    let mut prev_kind: Option<SubtaskKind> = None;
    let mut pushed: Option<usize> = None;
    for i in 0..count {
        let (s, e) = (edges[i], edges[i + 1]);
        let after = if e >= n {
            states[n - 1]
        } else {
            state_after(e)
        };
        let mut kind = match (before, after) {
            (false, true) => SubtaskKind::Grasp,
            (true, false) => SubtaskKind::Place,
            (true, true) => SubtaskKind::Carry,
            (false, false) => SubtaskKind::Reach,
        };
        // An open-handed subtask in which the hand moves an object (most of that motion
        // inside it) pulls or pushes it: towards the hand is a pull.
        let motion = motions.iter().find(|m| {
            let inside = m.end.min(e).saturating_sub(m.start.max(s));
            kind == SubtaskKind::Reach && 2 * inside > m.end - m.start
        });
        if let Some(m) = motion {
            let o = &demo.objects[m.object].poses;
            let moved = o[m.end - 1].pos - o[m.start].pos;
            let hand = demo.eef[m.start].pos - o[m.start].pos;
            kind = if moved.dot(hand) > 0.0 {
                SubtaskKind::Pull
            } else {
                SubtaskKind::Push
            };
        }
        let last = e - 1;
        let eef = demo.eef[last];
        let held = nearest_object(demo, demo.eef[s].pos, s, None);
        let (auto_obj, at_start) = match kind {
            // The object the hand moves, frozen at the start: its frame moves with the hand.
            SubtaskKind::Pull | SubtaskKind::Push => (motion.map(|m| m.object), true),
            // A retreat from what the hand just pushed.
            SubtaskKind::Reach if pushed.is_some() => (pushed, false),
            SubtaskKind::Grasp | SubtaskKind::Reach => {
                (nearest_object(demo, eef.pos, last, None), false)
            }
            SubtaskKind::Carry => (held, true),
            SubtaskKind::Place => {
                let hp = held
                    .map(|h| demo.objects[h].poses[last].pos)
                    .unwrap_or(eef.pos);
                match nearest_object(demo, hp, last, held) {
                    Some(j) => (Some(j), false),
                    None => (held, true),
                }
            }
        };
        let (obj, at_start) = match obj_over.as_ref().and_then(|o| o[i].as_ref()) {
            Some(name) => {
                let j = demo.object_index(name);
                (j, at_start && j == auto_obj)
            }
            None => (auto_obj, at_start),
        };
        let j = obj.ok_or(SegmentError::NoObjects)?;
        let o = &demo.objects[j];
        let frame = if at_start { o.poses[s] } else { o.poses[last] };
        let name = match kind {
            SubtaskKind::Grasp => format!("grasp {}", o.name),
            SubtaskKind::Place => format!("place on {}", o.name),
            SubtaskKind::Carry => format!("lift {}", o.name),
            SubtaskKind::Reach
                if matches!(
                    prev_kind,
                    Some(SubtaskKind::Place | SubtaskKind::Pull | SubtaskKind::Push)
                ) =>
            {
                format!("retreat from {}", o.name)
            }
            SubtaskKind::Reach => format!("reach {}", o.name),
            SubtaskKind::Pull => format!("pull {}", o.name),
            SubtaskKind::Push => format!("push {}", o.name),
        };
        subtasks.push(Subtask {
            name,
            object: o.name.clone(),
            start: s,
            end: e,
            end_pose_in_object: eef.relative_to(&frame),
            gripper_closed_at_end: after,
            kind,
            object_frame_at_start: at_start,
        });
        before = after;
        prev_kind = Some(kind);
        pushed = motion.map(|m| m.object);
    }
    Ok(TaskSpec {
        format: TASKSPEC_FORMAT.to_string(),
        subtasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::synth::{
        stack_demo, stack_demo_robosuite, StackParams, STACK_CLOSE_AT, STACK_OPEN_AT,
    };
    use crate::geom::Quat;

    fn kinds(spec: &TaskSpec) -> Vec<SubtaskKind> {
        spec.subtasks.iter().map(|s| s.kind).collect()
    }

    #[test]
    fn clean_stack_demo_gives_grasp_place_retreat() {
        let d = stack_demo(&StackParams::default());
        let spec = segment(&d).unwrap();
        spec.check_against(&d).unwrap();
        assert_eq!(
            kinds(&spec),
            vec![SubtaskKind::Grasp, SubtaskKind::Place, SubtaskKind::Reach]
        );
        let names: Vec<&str> = spec.subtasks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["grasp cubeA", "place on cubeB", "retreat from cubeA"]
        );
        let b = spec.boundaries();
        // Refined back to where the gripper stopped (5 still samples before each event).
        assert!(
            b[0] <= STACK_CLOSE_AT && b[0] + 6 >= STACK_CLOSE_AT,
            "{b:?}"
        );
        assert!(b[1] <= STACK_OPEN_AT && b[1] + 6 >= STACK_OPEN_AT, "{b:?}");
        let g = &spec.subtasks[0];
        assert!(g.gripper_closed_at_end && !spec.subtasks[1].gripper_closed_at_end);
        // The grasp ends at the cube's centre with the gripper pointing down.
        assert!(
            g.end_pose_in_object.pos.norm() < 1e-9,
            "{:?}",
            g.end_pose_in_object
        );
        // Re-targeting: the goal follows the object.
        let moved = Pose::new(Vec3::new(0.6, 0.2, 0.025), Quat::from_yaw(1.0));
        let goal = g.goal_pose(&moved);
        assert!((goal.pos - moved.pos).norm() < 1e-9);
        assert!(
            goal.quat
                .angle_to(d.eef[g.end - 1].quat.aligned_with(goal.quat))
                > 0.5
        );
        assert_eq!(g.len(), g.end);
        // The place ends just above cubeB's top face.
        let pl = spec.subtasks[1].end_pose_in_object.pos;
        assert!((pl - Vec3::new(0.0, 0.0, 0.052)).norm() < 1e-6, "{pl:?}");
    }

    #[test]
    fn noisy_demos_segment_like_the_clean_one() {
        let clean = segment(&stack_demo(&StackParams::default())).unwrap();
        for seed in 1..=6 {
            let params = StackParams {
                pos_noise: 0.002,
                gripper_glitch: 0.02,
                seed,
                ..StackParams::default()
            };
            let d = stack_demo(&params);
            let spec = segment(&d).unwrap();
            assert_eq!(kinds(&spec), kinds(&clean), "seed {seed}");
            for (a, b) in spec.subtasks.iter().zip(&clean.subtasks) {
                assert_eq!(a.object, b.object, "seed {seed}");
                assert!(
                    a.end.abs_diff(b.end) <= 6,
                    "seed {seed}: end {} vs {}",
                    a.end,
                    b.end
                );
            }
        }
    }

    #[test]
    fn reference_objects_follow_the_geometry_not_the_order() {
        // Pick the object listed second: swap the roles of the two cubes.
        let p = StackParams::default();
        let mut d = stack_demo(&StackParams {
            pick: p.place,
            place: p.pick,
            ..p
        });
        d.objects.swap(0, 1);
        let spec = segment(&d).unwrap();
        assert_eq!(spec.subtasks[0].object, "cubeA");
        assert_eq!(spec.subtasks[1].object, "cubeB");
        assert_eq!(d.objects[1].name, "cubeA");
    }

    /// Mug Cleanup's demo (recorded by the scripted operator, which hooks the drawer's
    /// handle with open fingers) segments into its subtasks from contact and proximity
    /// cues alone, as from its subtask signals: the drawer's pull and push are found,
    /// each in the drawer's frame at its start.
    #[test]
    fn drawer_pull_and_push_segment_with_or_without_signals() {
        let want = [
            (SubtaskKind::Pull, "drawer", true),
            (SubtaskKind::Grasp, "mug", false),
            (SubtaskKind::Place, "drawer", false),
            (SubtaskKind::Push, "drawer", true),
            (SubtaskKind::Reach, "drawer", false),
        ];
        for seed in [0, 3] {
            let with = crate::task::scripted_demo("mug_cleanup", seed).unwrap();
            assert!(!with.subtask_term_signals.is_empty());
            let mut without = with.clone();
            without.subtask_term_signals.clear();
            let a = segment(&with).unwrap();
            let b = segment(&without).unwrap();
            for spec in [&a, &b] {
                let got: Vec<_> = spec
                    .subtasks
                    .iter()
                    .map(|s| (s.kind, s.object.as_str(), s.object_frame_at_start))
                    .collect();
                assert_eq!(got, want, "seed {seed}");
            }
            assert_eq!(a.subtasks[0].name, "pull drawer");
            assert_eq!(a.subtasks[3].name, "push drawer");
            for (x, y) in a.boundaries().iter().zip(b.boundaries()) {
                assert!(
                    x.abs_diff(y) <= 3,
                    "{:?} vs {:?}",
                    a.boundaries(),
                    b.boundaries()
                );
            }
            // Without the task's geometry (distances to origins) the drawer's origin is
            // too far from the hand on its handle: no pull is found.
            let mut anonymous = without.clone();
            anonymous.task = None;
            let c = segment(&anonymous).unwrap();
            assert!(c.subtasks.iter().all(|s| s.kind != SubtaskKind::Pull));
        }
    }

    #[test]
    fn honours_mimicgen_term_signals() {
        let d = stack_demo_robosuite();
        let spec = segment(&d).unwrap();
        // The grasp ends exactly on the signal; the release (no signal) still ends the place.
        let b = spec.boundaries();
        assert_eq!(b[0], STACK_CLOSE_AT);
        assert!(b[1] <= STACK_OPEN_AT && b[1] + 6 >= STACK_OPEN_AT, "{b:?}");
        assert_eq!(
            kinds(&spec),
            vec![SubtaskKind::Grasp, SubtaskKind::Place, SubtaskKind::Reach]
        );
        assert_eq!(spec.subtasks[1].object, "cubeB");
        // A signal that disagrees with the gripper by a few samples wins.
        let mut d2 = stack_demo_robosuite();
        d2.subtask_term_signals[0].1 = (0..d2.len()).map(|k| u8::from(k >= 47)).collect();
        assert_eq!(segment(&d2).unwrap().boundaries()[0], 47);
    }

    #[test]
    fn demo_ending_while_holding_gets_a_lift_subtask_in_the_start_frame() {
        let mut d = stack_demo(&StackParams::default());
        let n = 80;
        d.t.truncate(n);
        d.eef.truncate(n);
        d.gripper.truncate(n);
        for o in &mut d.objects {
            o.poses.truncate(n);
        }
        let spec = segment(&d).unwrap();
        assert_eq!(kinds(&spec), vec![SubtaskKind::Grasp, SubtaskKind::Carry]);
        let lift = &spec.subtasks[1];
        assert_eq!(lift.name, "lift cubeA");
        assert!(lift.object_frame_at_start && lift.gripper_closed_at_end);
        // Goal is well above where the cube was at the start of the lift.
        assert!(
            lift.end_pose_in_object.pos.z().abs() > 0.05,
            "{:?}",
            lift.end_pose_in_object
        );
    }

    #[test]
    fn overrides_replace_boundaries_and_objects() {
        let d = stack_demo(&StackParams::default());
        let ov = SegmentOverrides {
            boundaries: Some(vec![30, 50, 120]),
            objects: Some(vec![None, None, Some("cubeA".into()), None]),
        };
        let spec = segment_with(&d, &SegmentParams::default(), Some(&ov)).unwrap();
        spec.check_against(&d).unwrap();
        assert_eq!(spec.boundaries(), vec![30, 50, 120]);
        assert_eq!(
            kinds(&spec),
            vec![
                SubtaskKind::Reach,
                SubtaskKind::Grasp,
                SubtaskKind::Place,
                SubtaskKind::Reach
            ]
        );
        assert_eq!(spec.subtasks[2].object, "cubeA");
        assert_eq!(spec.subtasks[2].name, "place on cubeA");
        let bad = |b: Vec<usize>| {
            let ov = SegmentOverrides {
                boundaries: Some(b),
                objects: None,
            };
            segment_with(&d, &SegmentParams::default(), Some(&ov))
        };
        assert!(matches!(
            bad(vec![50, 40]),
            Err(SegmentError::BadBoundaries(_))
        ));
        assert!(matches!(
            bad(vec![0, 40]),
            Err(SegmentError::BadBoundaries(_))
        ));
        assert!(matches!(
            bad(vec![40, d.len()]),
            Err(SegmentError::BadBoundaries(_))
        ));
        let ov = SegmentOverrides {
            boundaries: None,
            objects: Some(vec![None]),
        };
        assert!(matches!(
            segment_with(&d, &SegmentParams::default(), Some(&ov)),
            Err(SegmentError::BadObjects(_))
        ));
        let ov = SegmentOverrides {
            boundaries: None,
            objects: Some(vec![Some("mug".into()), None, None]),
        };
        assert!(matches!(
            segment_with(&d, &SegmentParams::default(), Some(&ov)),
            Err(SegmentError::BadObjects(m)) if m.contains("mug")
        ));
    }

    #[test]
    fn task_spec_round_trips_and_rejects_unknown_keys() {
        let d = stack_demo(&StackParams::default());
        let spec = segment(&d).unwrap();
        let text = spec.to_json();
        assert_eq!(TaskSpec::from_json(&text).unwrap(), spec);
        let extra = text.replacen("\"subtasks\"", "\"colour\": 1, \"subtasks\"", 1);
        assert!(matches!(
            TaskSpec::from_json(&extra),
            Err(SegmentError::Json(_))
        ));
        let wrong = text.replace(TASKSPEC_FORMAT, "dmgen-taskspec/0");
        assert!(matches!(
            TaskSpec::from_json(&wrong),
            Err(SegmentError::Json(_))
        ));
        let ov: SegmentOverrides = serde_json::from_str(r#"{"boundaries":[3,9]}"#).unwrap();
        assert_eq!(ov.boundaries, Some(vec![3, 9]));
        assert!(serde_json::from_str::<SegmentOverrides>(r#"{"bounds":[3]}"#).is_err());
    }

    #[test]
    fn refuses_demos_without_objects_or_samples() {
        let mut d = stack_demo(&StackParams::default());
        d.objects.clear();
        assert_eq!(segment(&d), Err(SegmentError::NoObjects));
        let e = Demo {
            task: None,
            t: vec![],
            eef: vec![],
            gripper: vec![],
            objects: vec![],
            subtask_term_signals: vec![],
        };
        assert_eq!(segment(&e), Err(SegmentError::EmptyDemo));
        let mut d = stack_demo(&StackParams::default());
        d.gripper.pop();
        assert!(matches!(segment(&d), Err(SegmentError::Mismatch(_))));
    }

    #[test]
    fn glitches_shorter_than_min_run_are_ignored() {
        let g = [
            0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.45, 1.0, 1.0,
        ];
        let s = gripper_states(&g, &SegmentParams::default());
        assert_eq!(gripper_events(&s), vec![7]);
    }
}

//! The playground's interactive session, independent of JavaScript: the chosen
//! task, the loaded demonstration (aligned to the scene), its segmentation with
//! the user's corrections, the DMP settings, the scene's object poses, and what a
//! renderer needs to show them (demo replay, goal frames, DMP reproduction).
//!
//! `wasm.rs` wraps this for the page; everything here is plain Rust and tested
//! natively. Every input error is returned, never panicked on, and a failed
//! update leaves the session as it was (the loaded demo is never lost).

use crate::config::{DmpParams, SegmentationOverride};
use crate::demo::{read_demo_auto, Demo, DemoError};
use crate::dmp::{DmpRunner, PoseDmp};
use crate::generate::dmp_config;
use crate::geom::{Pose, Quat, Vec3};
use crate::rng::Rng;
use crate::segment::{segment_with, SegmentOverrides, SegmentParams, TaskSpec};
use crate::sim::panda::{self, DOF};
use crate::sim::{ik, ShapeKind, VisualShape};
use crate::task::Task;
use std::fmt;

/// Why a session update was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionError {
    Demo(DemoError),
    Task(String),
    Segment(String),
    Dmp(String),
    Scene(String),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Demo(e) => write!(f, "the demo could not be read: {e}"),
            SessionError::Task(s) => write!(f, "task: {s}"),
            SessionError::Segment(s) => write!(f, "segmentation: {s}"),
            SessionError::Dmp(s) => write!(f, "DMP: {s}"),
            SessionError::Scene(s) => write!(f, "scene: {s}"),
        }
    }
}

impl std::error::Error for SessionError {}

/// Read a demo file in any supported format and move it into the scene frame
/// (as the generator does).
pub fn load_demo(bytes: &[u8], name: &str, index: usize) -> Result<Demo, SessionError> {
    let demo = read_demo_auto(bytes, Some(name), index).map_err(SessionError::Demo)?;
    Ok(scene_demo(demo))
}

/// A demo already read, moved into the scene frame (as the generator does).
pub fn scene_demo(mut demo: Demo) -> Demo {
    crate::generate::align_demo(&mut demo);
    demo
}

/// The built-in demo of task `id` in the scene frame (the generator's own).
pub fn builtin_demo(id: &str) -> Result<Demo, SessionError> {
    let mut demo =
        crate::generate::builtin_demo(id).map_err(|e| SessionError::Task(e.to_string()))?;
    crate::generate::align_demo(&mut demo);
    Ok(demo)
}

/// One task, one demo, its segmentation and the scene being edited.
#[derive(Clone, Debug)]
pub struct Session {
    /// The task as its file describes it (reset levels are applied to it).
    base: Task,
    task: Task,
    demo: Demo,
    spec: TaskSpec,
    segmentation: SegmentationOverride,
    dmp: DmpParams,
    poses: Vec<Pose>,
    scene_seed: u64,
}

impl Session {
    /// A session for `task` with `demo` (already in the scene frame). The demo's
    /// objects must be the task's objects, under its names or MimicGen's.
    pub fn new(task: Task, mut demo: Demo) -> Result<Session, SessionError> {
        let names = task.object_names();
        let known: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let none = std::collections::BTreeMap::new();
        demo.map_objects(&known, |n| task.demo_object_name(n, &none).to_string())
            .map_err(SessionError::Demo)?;
        // The page's first module segments with the built-in task's geometry only (its
        // size budget): a task file's drawer under a new id shows no pull here, though
        // the generator finds it.
        let spec = segment_with(&demo, &SegmentParams::default(), None)
            .map_err(|e| SessionError::Segment(e.to_string()))?;
        let poses = task.sample_object_poses(&mut Rng::new(0));
        Ok(Session {
            base: task.clone(),
            task,
            demo,
            spec,
            segmentation: SegmentationOverride::default(),
            dmp: DmpParams::default(),
            poses,
            scene_seed: 0,
        })
    }

    /// A session for the task whose id the demo names, else `fallback_task`.
    pub fn for_demo(demo: Demo, fallback_task: &str) -> Result<Session, SessionError> {
        let id = demo
            .task
            .clone()
            .filter(|t| Task::by_id(t).is_ok())
            .unwrap_or_else(|| fallback_task.to_string());
        let task = Task::by_id(&id).map_err(|e| SessionError::Task(e.to_string()))?;
        Session::new(task, demo)
    }

    pub fn task(&self) -> &Task {
        &self.task
    }
    pub fn demo(&self) -> &Demo {
        &self.demo
    }
    pub fn spec(&self) -> &TaskSpec {
        &self.spec
    }
    pub fn segmentation(&self) -> &SegmentationOverride {
        &self.segmentation
    }
    pub fn dmp(&self) -> &DmpParams {
        &self.dmp
    }
    pub fn object_poses(&self) -> &[Pose] {
        &self.poses
    }
    pub fn scene_seed(&self) -> u64 {
        self.scene_seed
    }

    /// Apply hand corrections to the automatic segmentation (empty = automatic).
    pub fn set_segmentation(&mut self, ov: SegmentationOverride) -> Result<(), SessionError> {
        if !ov.objects.is_empty() {
            let names = self.task.object_names();
            for o in ov.objects.iter().flatten() {
                if !names.contains(o) {
                    return Err(SessionError::Segment(format!(
                        "unknown object '{o}' (the task has {})",
                        names.join(", ")
                    )));
                }
            }
        }
        let overrides = SegmentOverrides {
            boundaries: (!ov.boundaries.is_empty()).then(|| ov.boundaries.clone()),
            objects: (!ov.objects.is_empty()).then(|| ov.objects.clone()),
        };
        let spec = segment_with(&self.demo, &SegmentParams::default(), Some(&overrides))
            .map_err(|e| SessionError::Segment(e.to_string()))?;
        self.spec = spec;
        self.segmentation = ov;
        Ok(())
    }

    /// Change the DMP settings (validated by fitting every subtask once).
    pub fn set_dmp(&mut self, p: DmpParams) -> Result<(), SessionError> {
        let old = std::mem::replace(&mut self.dmp, p);
        if let Err(e) = self.reproduction() {
            self.dmp = old;
            return Err(e);
        }
        Ok(())
    }

    /// Sample a new scene from the task's reset distribution with `seed`.
    /// Spread the objects of later `randomize` calls at MimicGen's reset `level`.
    pub fn set_reset_level(&mut self, level: crate::task::ResetLevel) -> Result<(), SessionError> {
        let reset = self
            .base
            .clone()
            .with_reset_level(level)
            .map_err(|e| SessionError::Task(e.to_string()))?
            .reset;
        self.task.reset = reset;
        Ok(())
    }

    pub fn randomize(&mut self, seed: u64) {
        self.poses = self.task.sample_object_poses(&mut Rng::new(seed));
        self.scene_seed = seed;
    }

    /// Put object `index` at table position (`x`, `y`) with `yaw` (rad), keeping its height.
    pub fn move_object(
        &mut self,
        index: usize,
        x: f64,
        y: f64,
        yaw: f64,
    ) -> Result<(), SessionError> {
        if !(x.is_finite() && y.is_finite() && yaw.is_finite()) {
            return Err(SessionError::Scene("object position must be finite".into()));
        }
        let Some(p) = self.poses.get_mut(index) else {
            return Err(SessionError::Scene(format!("no object {index}")));
        };
        let x = x.clamp(0.15, 0.85);
        let y = y.clamp(-0.45, 0.45);
        *p = Pose::new(Vec3::new(x, y, p.pos.z()), Quat::from_yaw(yaw));
        Ok(())
    }

    /// Replace every object pose (e.g. read back from a world).
    pub fn set_object_poses(&mut self, poses: Vec<Pose>) -> Result<(), SessionError> {
        if poses.len() != self.poses.len() || poses.iter().any(|p| !p.is_finite()) {
            return Err(SessionError::Scene(
                "expected one finite pose per object".into(),
            ));
        }
        self.poses = poses;
        Ok(())
    }

    /// The DMP reproduction of the demo: every subtask's DMP rolled out from the
    /// demo's own start to its own goal, concatenated (T poses).
    pub fn reproduction(&self) -> Result<Vec<Pose>, SessionError> {
        let cfg = dmp_config(&self.dmp);
        let mut out = Vec::with_capacity(self.demo.len());
        for s in &self.spec.subtasks {
            let seg = &self.demo.eef[s.start..s.end];
            if seg.len() < 3 {
                out.extend_from_slice(seg);
                continue;
            }
            let model = PoseDmp::fit(seg, &cfg).map_err(|e| SessionError::Dmp(e.to_string()))?;
            let start = seg[0];
            let goal = seg[seg.len() - 1];
            let mut runner = DmpRunner::new(model, start, goal);
            out.push(start);
            for _ in 1..seg.len() {
                out.push(runner.step());
            }
        }
        Ok(out)
    }

    /// Each subtask's goal in the current scene: its end pose in its reference
    /// object's frame, composed with that object's current pose.
    pub fn goal_frames(&self) -> Vec<Pose> {
        let names = self.task.object_names();
        self.spec
            .subtasks
            .iter()
            .filter_map(|s| {
                let i = names.iter().position(|n| *n == s.object)?;
                Some(s.goal_pose(&self.poses[i]))
            })
            .collect()
    }

    /// The path the first subtask's DMP plans from the demo's start pose to its
    /// goal in the current scene (positions), for drawing.
    pub fn planned_path(&self) -> Vec<Vec3> {
        let Some(s) = self.spec.subtasks.first() else {
            return Vec::new();
        };
        let Some(goal) = self.goal_frames().first().copied() else {
            return Vec::new();
        };
        let seg = &self.demo.eef[s.start..s.end];
        let Ok(model) = PoseDmp::fit(seg, &dmp_config(&self.dmp)) else {
            return Vec::new();
        };
        let start = seg[0];
        let runner = DmpRunner::new(model, start, goal);
        std::iter::once(start.pos)
            .chain(runner.remaining_path().into_iter().map(|p| p.pos))
            .collect()
    }

    /// Shapes of the scene at demo sample `k`: table and fixtures, the arm posed
    /// kinematically (IK of the demo's end-effector pose), and the objects where
    /// the demo had them. `static_shapes` are the world's shapes without the arm
    /// and objects (see [`scene_fixed_shapes`]).
    pub fn replay_shapes(
        &self,
        static_shapes: &[VisualShape],
        k: usize,
        q_hint: &mut [f64; DOF],
    ) -> Vec<VisualShape> {
        let k = k.min(self.demo.len().saturating_sub(1));
        let mut out = static_shapes.to_vec();
        if self.demo.is_empty() {
            return out;
        }
        let eef = self.demo.eef[k];
        let sol = ik::solve(&eef, q_hint, &panda::Q_HOME, &ik::IkParams::default());
        *q_hint = sol.q;
        let width = (1.0 - self.demo.gripper[k].clamp(0.0, 1.0)) * 2.0 * panda::FINGER_TRAVEL;
        out.extend(robot_shapes(&sol.q, width.max(0.045)));
        for (spec, track) in self.task.objects.iter().filter_map(|o| {
            self.demo
                .objects
                .iter()
                .find(|t| t.name == o.name)
                .map(|t| (o, t))
        }) {
            let pose = track.poses[k];
            out.extend(object_shapes(&spec.parts, &pose, spec.color));
        }
        out
    }
}

/// The world's shapes minus the arm and the objects: what stays put.
pub fn scene_fixed_shapes(all: &[VisualShape], task: &Task) -> Vec<VisualShape> {
    // PandaWorld::visual_shapes lists table, floor, pedestal, the arm's link
    // capsules, hand and two fingers, then fixtures, then objects.
    let arm = panda::LINK_CAPSULES.len() + 3;
    let fixtures: usize = task.fixtures.iter().map(|f| f.parts.len()).sum();
    let mut out: Vec<VisualShape> = all.iter().take(3).cloned().collect();
    out.extend(all.iter().skip(3 + arm).take(fixtures).cloned());
    out
}

/// An object's parts at `pose`.
pub fn object_shapes(parts: &[crate::task::Part], pose: &Pose, color: [u8; 4]) -> Vec<VisualShape> {
    parts
        .iter()
        .map(|p| VisualShape {
            kind: crate::sim::world::part_visual(&p.shape),
            pose: pose.compose(&p.offset),
            color,
        })
        .collect()
}

fn quat_z_to(d: Vec3) -> Quat {
    let n = d.normalized();
    let z = Vec3::new(0.0, 0.0, 1.0);
    let axis = z.cross(n);
    if axis.norm() < 1e-9 {
        return if z.dot(n) >= 0.0 {
            Quat::IDENTITY
        } else {
            Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI)
        };
    }
    Quat::from_axis_angle(axis, crate::geom::m::acos(z.dot(n).clamp(-1.0, 1.0)))
}

/// The arm at joint angles `q` with the fingers `width` apart, drawn kinematically.
pub fn robot_shapes(q: &[f64; DOF], width: f64) -> Vec<VisualShape> {
    let frames = panda::link_frames(q);
    let white = [235, 235, 238, 255];
    let dark = [60, 62, 68, 255];
    let mut out = Vec::new();
    for (link, p0, p1, r) in panda::LINK_CAPSULES.iter() {
        let frame = if *link == 0 {
            Pose::IDENTITY
        } else {
            frames[link - 1].to_pose()
        };
        let (a, b) = (Vec3(*p0), Vec3(*p1));
        let local = Pose::new((a + b) * 0.5, quat_z_to(b - a));
        out.push(VisualShape {
            kind: ShapeKind::Capsule {
                half_height: 0.5 * (b - a).norm(),
                radius: *r,
            },
            pose: frame.compose(&local),
            color: if *link == 0 || *link == 7 {
                dark
            } else {
                white
            },
        });
    }
    let l7 = frames[DOF - 1].to_pose();
    let hand = Pose::new(
        Vec3::new(0.0, 0.0, panda::FLANGE_OFFSET + panda::HAND_CENTER_Z),
        Quat::from_yaw(panda::HAND_YAW),
    );
    out.push(VisualShape {
        kind: ShapeKind::Cuboid {
            half_extents: Vec3(panda::HAND_HALF),
        },
        pose: l7.compose(&hand),
        color: white,
    });
    let eef = frames[DOF].to_pose();
    let half = 0.5 * width.clamp(0.0, 2.0 * panda::FINGER_TRAVEL);
    for side in [1.0f64, -1.0] {
        let fh = panda::FINGER_HALF;
        let local = Pose::from_pos(Vec3::new(
            0.0,
            side * (half + fh[1]),
            panda::FINGER_CENTER_Z,
        ));
        out.push(VisualShape {
            kind: ShapeKind::Cuboid {
                half_extents: Vec3(fh),
            },
            pose: eef.compose(&local),
            color: dark,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::synth::{fixture_files, stack_demo, StackParams};
    use crate::sim::PandaWorld;

    fn stack() -> Session {
        let d = stack_demo(&StackParams::default());
        Session::new(Task::by_id("stack").unwrap(), d).unwrap()
    }

    #[test]
    fn every_builtin_demo_opens_a_session_for_its_task() {
        for id in crate::generate::BUILTIN_DEMOS {
            let s = Session::new(Task::by_id(id).unwrap(), builtin_demo(id).unwrap()).unwrap();
            assert!(!s.spec().subtasks.is_empty(), "{id}");
            assert!(!s.reproduction().unwrap().is_empty(), "{id}");
        }
    }

    #[test]
    fn a_dragged_object_moves_in_the_world_and_cannot_leave_the_table() {
        use crate::sim::World;
        let s = stack();
        let mut w = PandaWorld::with_poses(s.task(), Default::default(), s.object_poses()).unwrap();
        let mut p = w.object_poses()[0];
        p.pos += Vec3::new(0.0, 0.04, 0.0);
        w.place_object(0, &p).unwrap();
        assert!((w.object_poses()[0].pos - p.pos).norm() < 1e-5);
        w.step().unwrap();
        assert!((w.object_poses()[0].pos - p.pos).norm() < 5e-3);
        let mut off = p;
        off.pos = Vec3::new(5.0, 0.0, p.pos.z());
        assert!(w.place_object(0, &off).is_err());
        assert!(w.place_object(7, &p).is_err());
    }

    #[test]
    fn every_fixture_format_loads_into_a_stack_session() {
        for (name, bytes) in fixture_files().unwrap() {
            let demo = load_demo(&bytes, name, 0).unwrap();
            let s = Session::for_demo(demo, "stack").unwrap();
            assert!(s.spec().subtasks.len() >= 2, "{name}");
            assert_eq!(s.task().id, "stack");
        }
    }

    #[test]
    fn malformed_bytes_are_an_error_not_a_panic() {
        for bytes in [
            &b"{not json"[..],
            b"a,b\n1",
            b"\x89HDF\r\n\x1a\nbroken",
            b"",
        ] {
            assert!(load_demo(bytes, "bad", 0).is_err());
        }
    }

    #[test]
    fn moving_a_boundary_changes_the_reproduction_and_a_bad_edit_keeps_the_old_one() {
        let mut s = stack();
        let before = s.reproduction().unwrap();
        assert_eq!(before.len(), s.demo().len());
        let mut b = s.spec().boundaries();
        b[0] -= 10;
        s.set_segmentation(SegmentationOverride {
            boundaries: b.clone(),
            objects: vec![],
        })
        .unwrap();
        assert_eq!(s.spec().boundaries(), b);
        let after = s.reproduction().unwrap();
        let diff: f64 = before
            .iter()
            .zip(&after)
            .map(|(a, b)| (a.pos - b.pos).norm())
            .sum();
        assert!(diff > 1e-4, "reproduction unchanged ({diff})");
        let spec = s.spec().clone();
        assert!(s
            .set_segmentation(SegmentationOverride {
                boundaries: vec![5, 3],
                objects: vec![],
            })
            .is_err());
        assert!(s
            .set_segmentation(SegmentationOverride {
                boundaries: vec![],
                objects: vec![Some("nope".into())],
            })
            .is_err());
        assert_eq!(s.spec(), &spec);
    }

    #[test]
    fn reproduction_follows_the_demo_closely() {
        let s = stack();
        let r = s.reproduction().unwrap();
        let worst = r
            .iter()
            .zip(&s.demo().eef)
            .map(|(a, b)| (a.pos - b.pos).norm())
            .fold(0.0, f64::max);
        assert!(worst < 0.01, "worst {worst}");
    }

    #[test]
    fn randomize_is_seeded_and_goals_follow_objects() {
        let mut a = stack();
        let mut b = stack();
        a.randomize(7);
        b.randomize(7);
        assert_eq!(a.object_poses(), b.object_poses());
        let g0 = a.goal_frames()[0];
        let p0 = a.object_poses()[0];
        a.move_object(0, p0.pos.x() + 0.05, p0.pos.y(), p0.quat.yaw())
            .unwrap();
        let g1 = a.goal_frames()[0];
        assert!(((g1.pos - g0.pos).norm() - 0.05).abs() < 1e-6);
        assert!(!a.planned_path().is_empty());
        assert!(a.move_object(0, f64::NAN, 0.0, 0.0).is_err());
        assert!(a.move_object(9, 0.5, 0.0, 0.0).is_err());
    }

    #[test]
    fn replay_draws_the_fixed_scene_the_arm_and_the_objects() {
        let s = stack();
        let world = PandaWorld::with_poses(s.task(), Default::default(), s.object_poses()).unwrap();
        let all = world.visual_shapes();
        let fixed = scene_fixed_shapes(&all, s.task());
        let mut q = panda::Q_HOME;
        let shapes = s.replay_shapes(&fixed, 10, &mut q);
        assert_eq!(shapes.len(), all.len());
        let bad_dmp = DmpParams {
            bases: 0,
            ..DmpParams::default()
        };
        let mut s2 = s.clone();
        assert!(s2.set_dmp(bad_dmp).is_err());
        assert_eq!(s2.dmp(), &DmpParams::default());
    }
}

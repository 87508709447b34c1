//! Dynamic variants: objects and targets that move during an episode.
//!
//! A [`DynamicsConfig`] (serde, part of a run's configuration) names the variant
//! and its numbers; [`DynamicsPlan::sample`] turns it into one episode's concrete
//! motion events from the episode's random stream; the generator calls
//! [`DynamicsPlan::apply`] every control step with the current subtask and the
//! phase within it (0 at the subtask's start, 1 at its end). Motion is always
//! physical: the plan sets [`World::set_object_drive`] velocities, which the world
//! realises through friction with the supporting surface.
//!
//! Variants:
//! - `static`: nothing moves (besides what the task itself moves, e.g. a belt).
//! - `dmg`: the D-MG protocol. With probability `probability` (0.5) the object
//!   picked in the first grasp subtask slides at `speed` (0.05 m/s, D-MG's
//!   2.5 mm per control step) along a random axis (x or y, random sign) while
//!   the grasp subtask's phase is inside `window` ([0, 0.5): its first half).
//! - `moving_target`: as `dmg`, and the place target (the reference object of
//!   the first place subtask) also slides along its own random axis during the
//!   same window of the place subtask. Tasks without a target only get the
//!   `dmg` motion.
//! - `push`: with probability `probability` the place target gets a short push:
//!   it slides at `push_speed` in a random horizontal direction while the place
//!   subtask's phase is inside `push_window` (mid-transport). Tasks without a
//!   target push the picked object during the same window of its grasp subtask.

use super::{SubtaskKind, Task};
use crate::geom::{m, Vec3};
use crate::rng::Rng;
use crate::sim::World;
use serde::{Deserialize, Serialize};

/// Which kind of motion an episode may contain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DynamicsVariant {
    #[default]
    Static,
    Dmg,
    MovingTarget,
    Push,
}

impl DynamicsVariant {
    /// Parse a variant id (`static`, `dmg`, `moving_target`, `push`).
    pub fn from_id(id: &str) -> Option<DynamicsVariant> {
        match id {
            "static" => Some(DynamicsVariant::Static),
            "dmg" => Some(DynamicsVariant::Dmg),
            "moving_target" => Some(DynamicsVariant::MovingTarget),
            "push" => Some(DynamicsVariant::Push),
            _ => None,
        }
    }
}

/// Configuration of the dynamic variant (all speeds in m/s, windows in
/// subtask phase units [0, 1]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamicsConfig {
    pub variant: DynamicsVariant,
    /// Probability that an episode contains the motion.
    pub probability: f64,
    /// Sliding speed of `dmg` and `moving_target` motions.
    pub speed: f64,
    /// Phase window of `dmg` and `moving_target` motions.
    pub window: [f64; 2],
    /// Speed and phase window of a `push`.
    pub push_speed: f64,
    pub push_window: [f64; 2],
    /// World axes a `dmg`/`moving_target` motion may follow (`"x"`, `"y"`, `"z"`); one is
    /// drawn per motion, with a random sign. Unknown names are skipped; empty means x or y.
    pub axes: Vec<String>,
}

impl Default for DynamicsConfig {
    fn default() -> Self {
        DynamicsConfig {
            variant: DynamicsVariant::Static,
            probability: 0.5,
            speed: 0.05,
            window: [0.0, 0.5],
            push_speed: 0.15,
            push_window: [0.3, 0.4],
            axes: vec!["x".into(), "y".into()],
        }
    }
}

impl DynamicsConfig {
    /// The default configuration of a variant.
    pub fn of(variant: DynamicsVariant) -> DynamicsConfig {
        DynamicsConfig {
            variant,
            ..DynamicsConfig::default()
        }
    }
}

/// One motion: `object` slides at `velocity` while subtask `subtask` is running
/// and its phase is in `[window[0], window[1])`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MotionEvent {
    pub object: usize,
    pub subtask: usize,
    pub window: [f64; 2],
    /// m/s, horizontal.
    pub velocity: Vec3,
}

/// One episode's concrete motions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DynamicsPlan {
    pub events: Vec<MotionEvent>,
}

/// A unit vector along one of `axes` (x, y or z) with a random sign, drawn with two
/// uniform numbers whatever the axes.
fn random_axis(rng: &mut Rng, axes: &[String]) -> Vec3 {
    let units: Vec<Vec3> = axes
        .iter()
        .filter_map(|a| match a.as_str() {
            "x" => Some(Vec3::new(1.0, 0.0, 0.0)),
            "y" => Some(Vec3::new(0.0, 1.0, 0.0)),
            "z" => Some(Vec3::new(0.0, 0.0, 1.0)),
            _ => None,
        })
        .collect();
    let pick = rng.uniform();
    let sign = if rng.bernoulli(0.5) { 1.0 } else { -1.0 };
    let units = if units.is_empty() {
        vec![Vec3::new(1.0, 0.0, 0.0), Vec3::new(0.0, 1.0, 0.0)]
    } else {
        units
    };
    let i = ((pick * units.len() as f64) as usize).min(units.len() - 1);
    units[i] * sign
}

impl DynamicsPlan {
    /// A plan without motion.
    pub fn none() -> DynamicsPlan {
        DynamicsPlan::default()
    }

    /// Draw one episode's plan. The number of random draws does not depend on
    /// the outcome, so later draws from `rng` are stable across variants.
    pub fn sample(task: &Task, config: &DynamicsConfig, rng: &mut Rng) -> DynamicsPlan {
        let happens = rng.bernoulli(config.probability);
        let axis_pick = random_axis(rng, &config.axes);
        let axis_target = random_axis(rng, &config.axes);
        let push_angle = rng.range(-std::f64::consts::PI, std::f64::consts::PI);
        let mut events = Vec::new();
        if !happens || config.variant == DynamicsVariant::Static {
            return DynamicsPlan { events };
        }
        let sub = |kind: SubtaskKind| task.subtasks.iter().position(|s| s.kind == kind);
        let grasp = sub(SubtaskKind::Grasp).and_then(|i| {
            task.object_index(&task.subtasks[i].object)
                .ok()
                .map(|o| (i, o))
        });
        let place = sub(SubtaskKind::Place).and_then(|i| {
            task.object_index(&task.subtasks[i].object)
                .ok()
                .map(|o| (i, o))
        });
        match config.variant {
            DynamicsVariant::Static => {}
            DynamicsVariant::Dmg | DynamicsVariant::MovingTarget => {
                if let Some((s, o)) = grasp {
                    events.push(MotionEvent {
                        object: o,
                        subtask: s,
                        window: config.window,
                        velocity: axis_pick * config.speed,
                    });
                }
                if config.variant == DynamicsVariant::MovingTarget {
                    if let Some((s, o)) = place {
                        events.push(MotionEvent {
                            object: o,
                            subtask: s,
                            window: config.window,
                            velocity: axis_target * config.speed,
                        });
                    }
                }
            }
            DynamicsVariant::Push => {
                let dir = Vec3::new(m::cos(push_angle), m::sin(push_angle), 0.0);
                if let Some((s, o)) = place.or(grasp) {
                    events.push(MotionEvent {
                        object: o,
                        subtask: s,
                        window: config.push_window,
                        velocity: dir * config.push_speed,
                    });
                }
            }
        }
        DynamicsPlan { events }
    }

    /// Whether the plan moves anything.
    pub fn is_dynamic(&self) -> bool {
        !self.events.is_empty()
    }

    /// The drive velocity of `object` at this point of the episode (`None`: not driven).
    pub fn drive_at(&self, object: usize, subtask: usize, phase: f64) -> Option<Vec3> {
        let mut v: Option<Vec3> = None;
        for e in &self.events {
            if e.object == object
                && e.subtask == subtask
                && phase >= e.window[0]
                && phase < e.window[1]
            {
                v = Some(v.unwrap_or(Vec3::ZERO) + e.velocity);
            }
        }
        v
    }

    /// Set the world's object drives for the current subtask and phase. Call once
    /// per control step before [`World::step`].
    pub fn apply(&self, world: &mut dyn World, subtask: usize, phase: f64) {
        let mut done: Vec<usize> = Vec::new();
        for e in &self.events {
            if done.contains(&e.object) {
                continue;
            }
            done.push(e.object);
            world.set_object_drive(e.object, self.drive_at(e.object, subtask, phase));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dmg_moves_half_the_episodes_along_an_axis() {
        let task = Task::by_id("stack").unwrap();
        let cfg = DynamicsConfig::of(DynamicsVariant::Dmg);
        let mut moving = 0;
        for seed in 0..400 {
            let plan = DynamicsPlan::sample(&task, &cfg, &mut Rng::new(seed));
            if let Some(e) = plan.events.first() {
                moving += 1;
                assert_eq!(e.object, 0, "cubeA is picked");
                assert_eq!(e.subtask, 0);
                let v = e.velocity;
                assert!((v.norm() - 0.05).abs() < 1e-12);
                assert!(v.x() == 0.0 || v.y() == 0.0);
                assert_eq!(plan.drive_at(0, 0, 0.2), Some(v));
                assert_eq!(plan.drive_at(0, 0, 0.6), None);
                assert_eq!(plan.drive_at(0, 1, 0.2), None);
            }
        }
        assert!((160..240).contains(&moving), "{moving} of 400 moving");
    }

    #[test]
    fn moving_target_and_push_move_the_target() {
        let task = Task::by_id("pick_place").unwrap();
        let bin = task.object_index("bin").unwrap();
        let mut cfg = DynamicsConfig::of(DynamicsVariant::MovingTarget);
        cfg.probability = 1.0;
        let plan = DynamicsPlan::sample(&task, &cfg, &mut Rng::new(3));
        assert!(plan
            .events
            .iter()
            .any(|e| e.object == bin && e.subtask == 1));
        cfg.variant = DynamicsVariant::Push;
        let plan = DynamicsPlan::sample(&task, &cfg, &mut Rng::new(3));
        assert_eq!(plan.events.len(), 1);
        assert_eq!(plan.events[0].object, bin);
        assert!((plan.events[0].velocity.norm() - cfg.push_speed).abs() < 1e-12);
        cfg.variant = DynamicsVariant::Static;
        assert!(!DynamicsPlan::sample(&task, &cfg, &mut Rng::new(3)).is_dynamic());
    }

    #[test]
    fn dmg_plan_slides_the_object_by_physics_in_its_window_only() {
        use crate::sim::{PandaWorld, PhysicsSettings};
        let task = Task::by_id("lift").unwrap();
        let mut w = PandaWorld::new(&task, PhysicsSettings::default()).unwrap();
        let cfg = DynamicsConfig {
            probability: 1.0,
            ..DynamicsConfig::of(DynamicsVariant::Dmg)
        };
        let plan = DynamicsPlan::sample(&task, &cfg, &mut Rng::new(9));
        let v = plan.events[0].velocity;
        let home = w.eef_pose();
        let start = w.object_poses()[0].pos;
        let mut mid = start;
        // A 2 s grasp subtask: 40 control steps, moving during the first 20.
        for k in 0..40 {
            plan.apply(&mut w, 0, k as f64 / 40.0);
            w.command(&home, false).unwrap();
            w.step().unwrap();
            if k == 19 {
                mid = w.object_poses()[0].pos;
            }
        }
        let end = w.object_poses()[0].pos;
        let moved = mid - start;
        assert!(
            (moved - v * 1.0).norm() < 0.004,
            "moved {moved:?}, drive {v:?}"
        );
        assert!((end - mid).norm() < 0.002, "kept moving after the window");
    }

    #[test]
    fn closed_loop_script_copes_with_each_variant() {
        use crate::sim::PhysicsSettings;
        use crate::task::scripted::scripted_demo_dynamic;
        let cases = [
            ("stack", DynamicsVariant::Dmg, 1),
            ("lift", DynamicsVariant::Dmg, 2),
            ("pick_place", DynamicsVariant::MovingTarget, 3),
            ("stack", DynamicsVariant::Push, 4),
        ];
        for (id, variant, seed) in cases {
            let task = Task::by_id(id).unwrap();
            let cfg = DynamicsConfig {
                probability: 1.0,
                ..DynamicsConfig::of(variant)
            };
            let mut rng = Rng::new(seed);
            let poses = task.sample_object_poses(&mut rng);
            let plan = DynamicsPlan::sample(&task, &cfg, &mut rng);
            assert!(plan.is_dynamic());
            let demo = scripted_demo_dynamic(&task, &poses, &PhysicsSettings::default(), &plan)
                .unwrap_or_else(|e| panic!("{id} {variant:?}: {e}"));
            // The moving object really moved.
            let e = &plan.events[0];
            let track = &demo.objects[e.object].poses;
            let shift = track
                .iter()
                .map(|p| (p.pos - track[0].pos).norm())
                .fold(0.0, f64::max);
            assert!(
                shift > 0.01,
                "{id} {variant:?}: object moved only {shift} m"
            );
        }
    }

    #[test]
    fn config_rejects_unknown_keys_and_fills_defaults() {
        let c: DynamicsConfig = serde_json::from_str(r#"{"variant":"dmg","speed":0.03}"#).unwrap();
        assert_eq!(c.variant, DynamicsVariant::Dmg);
        assert_eq!(c.probability, 0.5);
        assert!(serde_json::from_str::<DynamicsConfig>(r#"{"sped":1}"#).is_err());
    }
}

//! The policies' input representation: what a network sees of one observation.
//!
//! A dataset records raw state (hand position and quaternion, finger positions, object
//! poses and the task's relative vectors, docs/dataset.md). Fed to a network as they
//! are, three things go wrong (measured, docs/policy.md): quaternions double-cover
//! rotations and jump where a component changes sign; a cube turned by a quarter is the
//! same cube, so its yaw is a sawtooth the grasp follows only modulo 90 degrees; and
//! near-constant components, divided by their tiny spread, turn jitter into large inputs.
//! The policies built here ([`InputKind::Features`]) therefore see, per frame:
//!
//! | columns | value |
//! | --- | --- |
//! | 3 | hand position (m) |
//! | 6 | hand rotation: the first two columns of its rotation matrix (the continuous "6-D" representation of Zhou et al. 2019) |
//! | 2 | finger positions (m) |
//! | per object, 3 | object position (m) |
//! | per object, 3 | object position minus hand position (m) |
//! | per object, 3 | the object's z axis in the world (tilt) |
//! | per object, 2 | `sin(k d)`, `cos(k d)` of the object's heading minus the hand's, `k` = the object's yaw symmetry order (a cube: 4, so yaw is taken modulo 90 degrees; no symmetry: 1; a cylinder: left out, 0 columns) |
//! | per pair of objects `i < j`, 3 | position of `j` minus position of `i` (m) |
//!
//! Each column is then standardised with the training split's mean and standard
//! deviation, the latter floored at [`STD_FLOOR`] (a resting object's height, a hand that
//! stays pointing down: their jitter stays below a tenth of a unit).
//!
//! Everything here is computed from what every dataset of this tool has held
//! (`robot0_eef_pos`, `robot0_eef_quat`, `robot0_gripper_qpos` and the object poses of
//! `datagen_info/object_poses`), so files written before `object` carried the task's
//! relative vectors (layout 1) train the same policies as new ones (layout 2).

use crate::geom::{m, Pose, Quat, Vec3};
use serde::{Deserialize, Serialize};

/// Smallest standard deviation a feature is divided by.
pub const STD_FLOOR: f64 = 0.02;

pub use crate::policy_settings::InputKind;

/// The feature layout of one task: its objects and their yaw symmetry orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Object names, in the dataset's object order.
    pub objects: Vec<String>,
    /// Per object: 0 (turning it changes nothing: no heading features), or `k` such that
    /// a turn by `2 pi / k` maps it onto itself.
    pub yaw_orders: Vec<u32>,
}

impl Features {
    /// The layout for `task`'s objects.
    pub fn for_task(task: &crate::task::Task) -> Features {
        use crate::generate::{yaw_symmetry, YawSymmetry};
        let yaw_orders = task
            .objects
            .iter()
            .map(|o| match yaw_symmetry(o) {
                YawSymmetry::None => 1,
                YawSymmetry::Continuous => 0,
                YawSymmetry::Discrete(a) => (2.0 * std::f64::consts::PI / a).round() as u32,
            })
            .collect();
        Features {
            objects: task.object_names(),
            yaw_orders,
        }
    }

    fn n(&self) -> usize {
        self.objects.len()
    }

    /// Columns per frame.
    pub fn width(&self) -> usize {
        let n = self.n();
        let heading: usize = self
            .yaw_orders
            .iter()
            .map(|k| if *k == 0 { 0 } else { 2 })
            .sum();
        11 + 9 * n + heading + 3 * (n * n.saturating_sub(1) / 2)
    }

    /// A name per column (docs, tests, the policy file).
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = ["eef_x", "eef_y", "eef_z"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend((0..6).map(|i| format!("eef_rot6d_{i}")));
        v.extend(["finger_0".to_string(), "finger_1".to_string()]);
        for (o, k) in self.objects.iter().zip(&self.yaw_orders) {
            for a in ["x", "y", "z"] {
                v.push(format!("{o}_{a}"));
            }
            for a in ["x", "y", "z"] {
                v.push(format!("{o}_minus_eef_{a}"));
            }
            for a in ["x", "y", "z"] {
                v.push(format!("{o}_up_{a}"));
            }
            if *k > 0 {
                v.push(format!("{o}_heading_sin{k}"));
                v.push(format!("{o}_heading_cos{k}"));
            }
        }
        for i in 0..self.n() {
            for j in i + 1..self.n() {
                for a in ["x", "y", "z"] {
                    v.push(format!("{}_minus_{}_{a}", self.objects[j], self.objects[i]));
                }
            }
        }
        v
    }

    /// Append one frame's features: hand pose `eef`, finger positions `fingers`, object
    /// poses `objects` (the layout's order; quaternions need not be unit).
    pub fn encode(&self, eef: &Pose, fingers: [f64; 2], objects: &[Pose], out: &mut Vec<f32>) {
        let mut push = |x: f64| out.push(x as f32);
        let eq = eef.quat.normalized();
        let r = eq.to_mat3();
        for x in eef.pos.0 {
            push(x);
        }
        for col in 0..2 {
            for row in r.iter() {
                push(row[col]);
            }
        }
        push(fingers[0]);
        push(fingers[1]);
        let hand_heading = eq.yaw();
        for (p, k) in objects.iter().zip(&self.yaw_orders) {
            let q = p.quat.normalized();
            for x in p.pos.0 {
                push(x);
            }
            for x in (p.pos - eef.pos).0 {
                push(x);
            }
            for x in q.rotate(Vec3::new(0.0, 0.0, 1.0)).0 {
                push(x);
            }
            if *k > 0 {
                let d = f64::from(*k) * (q.yaw() - hand_heading);
                push(m::sin(d));
                push(m::cos(d));
            }
        }
        for i in 0..objects.len() {
            for j in i + 1..objects.len() {
                for x in (objects[j].pos - objects[i].pos).0 {
                    push(x);
                }
            }
        }
    }

    /// Features of one row of a dataset's [`super::data::feature_keys`]: hand position
    /// (3), quaternion (4), fingers (2), then each object's 4x4 pose from `datagen_info`
    /// (16, row-major).
    pub fn encode_row(&self, row: &[f32], out: &mut Vec<f32>) {
        let f = |i: usize| f64::from(row[i]);
        let v3 = |i: usize| Vec3::new(f(i), f(i + 1), f(i + 2));
        let eef = Pose::new(v3(0), Quat([f(3), f(4), f(5), f(6)]));
        let objects: Vec<Pose> = (0..self.n())
            .map(|o| {
                let b = 9 + 16 * o;
                let mut t = [[0.0; 4]; 4];
                for (r, row) in t.iter_mut().enumerate() {
                    for (c, x) in row.iter_mut().enumerate() {
                        *x = f(b + 4 * r + c);
                    }
                }
                Pose::from_mat4(&t)
            })
            .collect();
        self.encode(&eef, [f(7), f(8)], &objects, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Task;

    #[test]
    fn stack_layout_names_every_column() {
        let f = Features::for_task(&Task::by_id("stack").unwrap());
        assert_eq!(f.yaw_orders, vec![4, 4], "cubes repeat every quarter turn");
        assert_eq!(f.width(), 11 + 2 * 11 + 3);
        assert_eq!(f.names().len(), f.width());
        let sq = Features::for_task(&Task::by_id("square").unwrap());
        assert_eq!(sq.yaw_orders[0], 1, "the nut's handle breaks its symmetry");
        assert_eq!(sq.names().len(), sq.width());
    }

    /// A cube's features do not change when it turns by a quarter (the same cube), and
    /// change continuously as the hand turns through any angle.
    #[test]
    fn headings_are_taken_modulo_the_objects_symmetry() {
        let f = Features::for_task(&Task::by_id("stack").unwrap());
        let down = Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI);
        let eef = Pose::new(Vec3::new(0.5, 0.0, 0.2), down);
        let cube = |yaw: f64| Pose::new(Vec3::new(0.55, 0.02, 0.025), Quat::from_yaw(yaw));
        let enc = |a: f64| {
            let mut v = Vec::new();
            f.encode(&eef, [0.02, -0.02], &[cube(a), cube(0.3)], &mut v);
            v
        };
        let a = enc(0.4);
        let b = enc(0.4 + 0.5 * std::f64::consts::PI);
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!((x - y).abs() < 1e-5, "column {i}: {x} vs {y}");
        }
        let c = enc(0.45);
        let jump = a
            .iter()
            .zip(&c)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            jump < 0.25 && jump > 0.01,
            "a small turn moves features a little: {jump}"
        );
        // The row form reads the dataset's keys to the same values.
        let mut row = Vec::new();
        row.extend(eef.pos.0.iter().map(|x| *x as f32));
        row.extend(eef.quat.0.iter().map(|x| *x as f32));
        row.extend([0.02f32, -0.02]);
        for p in [cube(0.4), cube(0.3)] {
            row.extend(p.to_mat4().iter().flatten().map(|x| *x as f32));
        }
        let mut from_row = Vec::new();
        f.encode_row(&row, &mut from_row);
        for (x, y) in a.iter().zip(&from_row) {
            assert!((x - y).abs() < 1e-5);
        }
    }
}

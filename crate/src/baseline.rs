//! The MimicGen baseline (Mandlekar et al. 2023), in the same engine as D-MG.
//!
//! Per subtask, the reference object's pose is read **once**, when the subtask
//! starts. The source segment's end-effector poses are moved rigidly with the
//! object, `T_k = O_now * O_src^-1 * E_k` (`O_src`: the object's pose in the demo at
//! the segment's first sample), a short bridge interpolates from the current pose to
//! the first transformed pose (linear in position, slerp in orientation), and the
//! result is replayed as pose targets with the source's gripper commands. Small
//! Gaussian noise is added to every action in the normalised delta-action space
//! (std `action_noise` on actions scaled by 0.05 m and 0.5 rad, see
//! [`crate::export::delta_action`]). Nothing looks at the object again until the next
//! subtask starts, which is why MimicGen breaks when objects move.

use crate::geom::{Pose, Quat, Vec3};
use crate::rng::Rng;

/// Scale of the normalised translation action (m per unit).
pub const POS_ACTION_SCALE: f64 = 0.05;
/// Scale of the normalised rotation action (rad per unit).
pub const ROT_ACTION_SCALE: f64 = 0.5;

/// The pose targets of one subtask: `bridge` interpolation steps from `current` to the
/// first transformed source pose, then the transformed poses `source[1..]`.
///
/// `source` are the demo's end-effector poses of the segment, `object_src` the
/// reference object's demo pose at the segment's first sample, `object_now` its pose
/// now. Returns `bridge + source.len() - 1` poses.
pub fn transformed_segment(
    source: &[Pose],
    object_src: &Pose,
    object_now: &Pose,
    current: &Pose,
    bridge: usize,
) -> Vec<Pose> {
    let xf = object_now.compose(&object_src.inverse());
    let moved: Vec<Pose> = source.iter().map(|p| xf.compose(p)).collect();
    let mut out = Vec::with_capacity(bridge + moved.len().saturating_sub(1));
    if let Some(first) = moved.first() {
        for b in 1..=bridge {
            out.push(current.interpolate(first, b as f64 / bridge as f64));
        }
    }
    out.extend(moved.iter().skip(1).copied());
    out
}

/// `target` perturbed by the baseline's action noise: a position offset with std
/// `noise * 0.05` m per axis and a rotation with std `noise * 0.5` rad per axis.
/// Always draws six normal numbers (so later draws do not depend on `noise`).
pub fn noisy(target: &Pose, noise: f64, rng: &mut Rng) -> Pose {
    let dp = Vec3::new(rng.normal(), rng.normal(), rng.normal()) * (noise * POS_ACTION_SCALE);
    let dr = Vec3::new(rng.normal(), rng.normal(), rng.normal()) * (noise * ROT_ACTION_SCALE);
    if noise == 0.0 {
        return *target;
    }
    Pose::new(
        target.pos + dp,
        (Quat::from_rotvec(dr) * target.quat).normalized(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pose(x: f64, y: f64, z: f64, yaw: f64) -> Pose {
        Pose::new(Vec3::new(x, y, z), Quat::from_yaw(yaw))
    }

    #[test]
    fn segment_moves_rigidly_with_the_object() {
        let src_obj = pose(0.5, 0.0, 0.02, 0.0);
        let now_obj = pose(0.6, 0.1, 0.02, 0.5);
        let source: Vec<Pose> = (0..10)
            .map(|k| pose(0.5, 0.0, 0.2 - 0.018 * k as f64, 0.0))
            .collect();
        let current = pose(0.3, -0.2, 0.3, 0.0);
        let out = transformed_segment(&source, &src_obj, &now_obj, &current, 5);
        assert_eq!(out.len(), 5 + 9);
        // The bridge ends on the first transformed pose and starts next to `current`.
        let first = now_obj.compose(&src_obj.inverse()).compose(&source[0]);
        assert!((out[4].pos - first.pos).norm() < 1e-12);
        assert!((out[0].pos - current.pos).norm() < (first.pos - current.pos).norm());
        // Every replayed pose keeps its relation to the object.
        for (k, p) in out[5..].iter().enumerate() {
            let rel_now = p.relative_to(&now_obj);
            let rel_src = source[k + 1].relative_to(&src_obj);
            assert!((rel_now.pos - rel_src.pos).norm() < 1e-12);
            assert!(rel_now.quat.angle_to(rel_src.quat) < 1e-9);
        }
    }

    #[test]
    fn no_bridge_replays_the_segment_only() {
        let o = pose(0.5, 0.0, 0.0, 0.0);
        let source = vec![pose(0.5, 0.0, 0.1, 0.0), pose(0.5, 0.0, 0.05, 0.0)];
        let out = transformed_segment(&source, &o, &o, &Pose::IDENTITY, 0);
        assert_eq!(out, vec![source[1]]);
    }

    #[test]
    fn noise_has_the_documented_scale() {
        let mut rng = Rng::new(3);
        let t = pose(0.5, 0.0, 0.1, 0.2);
        let n = 4000;
        let mut var = 0.0;
        for _ in 0..n {
            let p = noisy(&t, 0.05, &mut rng);
            var += (p.pos - t.pos).x().powi(2);
        }
        let std = (var / n as f64).sqrt();
        assert!((std - 0.0025).abs() < 0.0003, "std {std}");
        let mut a = Rng::new(1);
        let mut b = Rng::new(1);
        assert_eq!(noisy(&t, 0.0, &mut a), t);
        noisy(&t, 0.3, &mut b);
        assert_eq!(a.next_u64(), b.next_u64(), "same number of draws");
    }
}

//! Damped-least-squares inverse kinematics for the Panda arm.
//!
//! One iteration, with `J` the 6x7 geometric Jacobian at `q`, `e` the 6-D pose
//! error (position error in m, then the rotation vector of
//! `R_target * R(q)^T` in rad, both in the world frame) and `lambda` the damping:
//!
//! `dq = J^T (J J^T + lambda^2 I)^-1 e  +  (I - J^T (J J^T + lambda^2 I)^-1 J) k (q_rest - q)`
//!
//! The second term pulls the redundant degree of freedom toward a rest posture
//! without disturbing the end-effector (to first order). Each step is scaled so
//! no joint moves more than `max_step` rad and `q` is clamped inside the joint
//! limits (minus a small margin). The damping keeps the 6x6 system positive
//! definite at singular configurations, so the solver never divides by zero; the
//! best iterate seen is returned with its residual error.

// Small dense linear algebra reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use super::panda::{self, Frame, DOF, Q_MAX, Q_MIN};
use crate::geom::{Pose, Quat, Vec3};

/// Solver settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IkParams {
    /// Damping `lambda` of the least-squares step.
    pub damping: f64,
    /// Iteration budget.
    pub max_iterations: usize,
    /// Stop when the position error is below this (m) ...
    pub pos_tol: f64,
    /// ... and the orientation error below this (rad).
    pub rot_tol: f64,
    /// Largest joint change per iteration (rad).
    pub max_step: f64,
    /// Null-space gain `k` toward the rest posture.
    pub nullspace_gain: f64,
    /// Distance kept from the joint limits (rad).
    pub limit_margin: f64,
    /// A solution counts as reaching the target within these errors (m, rad).
    pub reach_pos_tol: f64,
    pub reach_rot_tol: f64,
}

impl Default for IkParams {
    fn default() -> Self {
        IkParams {
            damping: 0.02,
            max_iterations: 100,
            pos_tol: 2e-5,
            rot_tol: 2e-4,
            max_step: 0.2,
            nullspace_gain: 0.05,
            limit_margin: 0.005,
            reach_pos_tol: 0.002,
            reach_rot_tol: 0.02,
        }
    }
}

/// The result of an IK solve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IkSolution {
    /// Best joint vector found (inside the limits).
    pub q: [f64; DOF],
    /// Its position error (m) and orientation error (rad).
    pub pos_err: f64,
    pub rot_err: f64,
    pub iterations: usize,
    /// Whether the errors are within the reach tolerances.
    pub reachable: bool,
}

/// The 6-D pose error `target - current` (position, rotation vector), world frame.
pub fn pose_error(target: &Pose, current: &Frame) -> [f64; 6] {
    let q_cur = Quat::from_mat3(&current.rot);
    let rot = (target.quat * q_cur.conj()).to_rotvec();
    let p = target.pos - Vec3(current.pos);
    [p.x(), p.y(), p.z(), rot.x(), rot.y(), rot.z()]
}

/// Solve `a x = b` for a symmetric positive definite 6x6 `a` (Cholesky).
/// Returns `None` if `a` is not positive definite.
fn solve_spd6(a: &[[f64; 6]; 6], b: &[f64; 6]) -> Option<[f64; 6]> {
    crate::geom::cholesky(a).map(|l| crate::geom::cholesky_solve(&l, b))
}

/// Clamp `q` inside the joint limits minus `margin`.
pub fn clamp_to_limits(q: &mut [f64; DOF], margin: f64) {
    for i in 0..DOF {
        q[i] = q[i].clamp(Q_MIN[i] + margin, Q_MAX[i] - margin);
    }
}

/// One damped-least-squares step from `q` toward `target`; returns the step and
/// the pose error at `q`.
fn dls_step(
    target: &Pose,
    q: &[f64; DOF],
    rest: &[f64; DOF],
    p: &IkParams,
) -> ([f64; DOF], [f64; 6]) {
    let (j, frame) = panda::jacobian(q);
    let e = pose_error(target, &frame);
    // A = J J^T + lambda^2 I
    let mut a = [[0.0; 6]; 6];
    for r in 0..6 {
        for c in 0..6 {
            let mut s = 0.0;
            for k in 0..DOF {
                s += j[r][k] * j[c][k];
            }
            a[r][c] = s;
        }
        a[r][r] += p.damping * p.damping;
    }
    let mut dq = [0.0; DOF];
    let Some(y) = solve_spd6(&a, &e) else {
        return (dq, e);
    };
    for (k, d) in dq.iter_mut().enumerate() {
        *d = (0..6).map(|r| j[r][k] * y[r]).sum();
    }
    if p.nullspace_gain > 0.0 {
        let mut z = [0.0; DOF];
        for k in 0..DOF {
            z[k] = p.nullspace_gain * (rest[k] - q[k]);
        }
        let mut jz = [0.0; 6];
        for (r, v) in jz.iter_mut().enumerate() {
            *v = (0..DOF).map(|k| j[r][k] * z[k]).sum();
        }
        if let Some(w) = solve_spd6(&a, &jz) {
            for k in 0..DOF {
                let proj: f64 = (0..6).map(|r| j[r][k] * w[r]).sum();
                dq[k] += z[k] - proj;
            }
        }
    }
    (dq, e)
}

fn err_norms(e: &[f64; 6]) -> (f64, f64) {
    let p = (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]).sqrt();
    let r = (e[3] * e[3] + e[4] * e[4] + e[5] * e[5]).sqrt();
    (p, r)
}

/// Solve for joint angles reaching `target` (end-effector pose, world frame),
/// starting from `q_init`, with the null-space pulled toward `rest`.
/// Never panics; non-finite inputs give an unreachable result at `q_init`
/// (clamped to the limits).
pub fn solve(target: &Pose, q_init: &[f64; DOF], rest: &[f64; DOF], p: &IkParams) -> IkSolution {
    let mut q = *q_init;
    if !q.iter().all(|v| v.is_finite()) {
        q = panda::Q_HOME;
    }
    clamp_to_limits(&mut q, p.limit_margin);
    let target = Pose::new(target.pos, target.quat.normalized());
    if !target.is_finite() {
        return IkSolution {
            q,
            pos_err: f64::INFINITY,
            rot_err: f64::INFINITY,
            iterations: 0,
            reachable: false,
        };
    }
    let mut best_q = q;
    let mut best = (f64::MAX, f64::MAX);
    let mut iterations = 0;
    for it in 0..=p.max_iterations {
        let (mut dq, e) = dls_step(&target, &q, rest, p);
        let (pe, re) = err_norms(&e);
        if pe + 0.1 * re < best.0 + 0.1 * best.1 {
            best = (pe, re);
            best_q = q;
        }
        iterations = it;
        if (pe <= p.pos_tol && re <= p.rot_tol) || it == p.max_iterations {
            break;
        }
        let max = dq.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if !max.is_finite() {
            break;
        }
        if max > p.max_step {
            let s = p.max_step / max;
            for d in &mut dq {
                *d *= s;
            }
        }
        for k in 0..DOF {
            q[k] += dq[k];
        }
        clamp_to_limits(&mut q, p.limit_margin);
    }
    IkSolution {
        q: best_q,
        pos_err: best.0,
        rot_err: best.1,
        iterations,
        reachable: best.0 <= p.reach_pos_tol && best.1 <= p.reach_rot_tol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn reaches_random_reachable_poses_within_2mm() {
        let mut rng = Rng::new(2024);
        let params = IkParams {
            max_iterations: 400,
            ..IkParams::default()
        };
        let mut reached = 0;
        for _ in 0..50 {
            // A random configuration around the working posture gives a pose
            // the arm can certainly reach.
            let mut q = panda::Q_HOME;
            for (k, v) in q.iter_mut().enumerate() {
                *v += rng.range(-0.6, 0.6);
                *v = v.clamp(Q_MIN[k] + 0.05, Q_MAX[k] - 0.05);
            }
            let target = panda::fk(&q);
            let sol = solve(&target, &panda::Q_HOME, &panda::Q_HOME, &params);
            assert!(panda::within_limits(&sol.q));
            let reached_pose = panda::fk(&sol.q);
            let d = (reached_pose.pos - target.pos).norm();
            assert!(d < 0.002, "missed by {d} m (target {:?})", target.pos);
            assert!(reached_pose.quat.angle_to(target.quat) < 0.02);
            assert!(sol.reachable);
            reached += 1;
        }
        assert_eq!(reached, 50);
    }

    #[test]
    fn reports_unreachable_targets_without_nan() {
        let params = IkParams::default();
        let down = panda::down_orientation(0.0);
        for pos in [
            Vec3::new(1.5, 0.0, 0.3),
            Vec3::new(0.0, 0.0, 2.0),
            Vec3::new(-1.2, 0.8, 0.0),
        ] {
            let sol = solve(
                &Pose::new(pos, down),
                &panda::Q_HOME,
                &panda::Q_HOME,
                &params,
            );
            assert!(!sol.reachable, "{pos:?} reported reachable");
            assert!(sol.q.iter().all(|v| v.is_finite()));
            assert!(panda::within_limits(&sol.q));
        }
        let nan = Pose::new(Vec3::new(f64::NAN, 0.0, 0.0), down);
        let sol = solve(&nan, &panda::Q_HOME, &panda::Q_HOME, &params);
        assert!(!sol.reachable);
        assert!(sol.q.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn singular_configuration_stays_finite() {
        // Fully stretched arm (q = 0 except joint 4 at its limit) is singular.
        let mut q = [0.0; DOF];
        q[3] = Q_MAX[3];
        let target = Pose::new(Vec3::new(0.2, 0.0, 1.2), panda::down_orientation(0.0));
        let sol = solve(&target, &q, &panda::Q_HOME, &IkParams::default());
        assert!(sol.q.iter().all(|v| v.is_finite()));
        assert!(sol.pos_err.is_finite());
    }
}

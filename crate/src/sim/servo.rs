//! The joint servo of the arms whose links are kinematic bodies ([`ArmModel::Kinematic`]
//! and [`ArmModel::JointSpace`]): the seven joints' positions and velocities, advanced
//! outside rapier's solver once per physics step, which then moves the links to their
//! forward kinematics.
//!
//! Notation: `q`, `v` the joints' positions (rad) and velocities (rad/s); `q*`, `v*` the
//! step's target and feed-forward velocity; `k`, `d` the motors' acceleration gains
//! (1/s^2, 1/s); `h` a substep (s); `M(q)` the arm's joint-space inertia
//! ([`panda::mass_matrix`]).
//!
//! - [`ServoLaw::Ideal`]: each joint follows `qdd = k (q* - q) + d (v* - v)` on its own,
//!   integrated implicitly; the hand tracks its commands to a fraction of a millimetre.
//! - [`ServoLaw::Multibody`]: the multibody arm's motors as rapier solves them, on the
//!   project's own `M(q)`: at every substep each joint's motor is a soft velocity
//!   constraint (rapier's acceleration-based motor: error reduction `k / (h k + d)`,
//!   constraint force mixing `1 / (h^2 k + h d)` times the joint's inverse effective mass
//!   `(M^-1)_ii`), its impulse limited by the joint's torque limit times `h`, and the
//!   seven constraints are swept once in joint order (Gauss-Seidel) before the positions
//!   are integrated and once after, each impulse changing every joint's velocity through
//!   `M^-1`. That coupling, not the torque limits, is why the multibody's hand lags its
//!   commands by millimetres on fast moves.
//!
//! [`ArmModel::Kinematic`]: super::world::ArmModel::Kinematic
//! [`ArmModel::JointSpace`]: super::world::ArmModel::JointSpace

use super::panda::{self, DOF};

/// How the servo's joints follow their targets (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServoLaw {
    Ideal,
    Multibody,
}

/// The joints' state and the law they follow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Servo {
    pub q: [f64; DOF],
    pub qd: [f64; DOF],
    pub law: ServoLaw,
}

/// The motor gains and limits of one step.
pub(crate) struct Gains {
    /// Acceleration gains (1/s^2, 1/s).
    pub k: f64,
    pub d: f64,
    /// Substep (s) and substeps per physics step.
    pub h: f64,
    pub substeps: usize,
    /// The fingers' distance from the centre line (m), for `M(q)`.
    pub finger: f64,
}

impl Servo {
    pub fn new(q: [f64; DOF], law: ServoLaw) -> Servo {
        Servo {
            q,
            qd: [0.0; DOF],
            law,
        }
    }

    /// One physics step towards the target `q_t` with feed-forward velocity `v_t`.
    /// Positions stay within the joint limits.
    pub fn track(&mut self, q_t: &[f64; DOF], v_t: &[f64; DOF], g: &Gains) {
        for _ in 0..g.substeps {
            match self.law {
                ServoLaw::Ideal => self.ideal_substep(q_t, v_t, g),
                ServoLaw::Multibody => self.multibody_substep(q_t, v_t, g),
            }
        }
    }

    fn ideal_substep(&mut self, q_t: &[f64; DOF], v_t: &[f64; DOF], g: &Gains) {
        let (k, d, h) = (g.k, g.d, g.h);
        for i in 0..DOF {
            let v = (self.qd[i] + h * (k * (q_t[i] - self.q[i]) + d * v_t[i]))
                / (1.0 + h * d + h * h * k);
            self.integrate(i, v, h);
        }
    }

    fn multibody_substep(&mut self, q_t: &[f64; DOF], v_t: &[f64; DOF], g: &Gains) {
        let (k, d, h) = (g.k, g.d, g.h);
        let Some(minv) = panda::spd_inverse(&panda::mass_matrix(&self.q, g.finger)) else {
            // M(q) is positive definite for every q; should it ever not be, follow the
            // ideal law for this substep rather than stop.
            return self.ideal_substep(q_t, v_t, g);
        };
        let erp_inv_dt = k / (h * k + d);
        let cfm_coeff = 1.0 / (h * h * k + h * d);
        let mut rows = [Row::default(); DOF];
        for (i, row) in rows.iter_mut().enumerate() {
            let lhs = minv[i][i];
            row.cfm_gain = lhs * cfm_coeff;
            row.inv_lhs = 1.0 / (lhs + row.cfm_gain);
            // The motor never asks a joint to cross its limit within the substep.
            let target_vel = v_t[i].clamp(
                (panda::Q_MIN[i] - self.q[i]) / h,
                (panda::Q_MAX[i] - self.q[i]) / h,
            );
            row.rhs = (self.q[i] - q_t[i]) * erp_inv_dt - target_vel;
            row.bound = panda::TAU_MAX[i] * h;
        }
        let mut v = self.qd;
        sweep(&mut rows, &minv, &mut v);
        for (i, vi) in v.iter_mut().enumerate() {
            *vi = self.integrate(i, *vi, h);
        }
        // rapier's stabilisation pass: the motor rows again, their impulses kept.
        sweep(&mut rows, &minv, &mut v);
        self.qd = v;
    }

    /// Advances joint `i` by `h` at velocity `v`, stopping at its limits; returns the
    /// velocity it moved at.
    fn integrate(&mut self, i: usize, v: f64, h: f64) -> f64 {
        let x = (self.q[i] + h * v).clamp(panda::Q_MIN[i], panda::Q_MAX[i]);
        let moved = (x - self.q[i]) / h;
        self.q[i] = x;
        self.qd[i] = moved;
        moved
    }
}

/// One motor row of the Gauss-Seidel sweep.
#[derive(Clone, Copy, Debug, Default)]
struct Row {
    rhs: f64,
    inv_lhs: f64,
    cfm_gain: f64,
    bound: f64,
    impulse: f64,
}

/// One Gauss-Seidel sweep over the motor rows in joint order: each row's impulse (N m s)
/// moves towards cancelling `v_i + rhs` and changes every joint's velocity by `M^-1`'s
/// column times the change.
fn sweep(rows: &mut [Row; DOF], minv: &panda::JointMatrix, v: &mut [f64; DOF]) {
    for i in 0..DOF {
        let r = &mut rows[i];
        let dvel = r.rhs + v[i];
        let total =
            (r.impulse + r.inv_lhs * (dvel - r.cfm_gain * r.impulse)).clamp(-r.bound, r.bound);
        let delta = total - r.impulse;
        r.impulse = total;
        for (j, vj) in v.iter_mut().enumerate() {
            *vj -= minv[j][i] * delta;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gains() -> Gains {
        Gains {
            k: 2.0e4,
            d: 300.0,
            h: 1.0 / 960.0,
            substeps: 4,
            finger: panda::FINGER_TRAVEL,
        }
    }

    /// Both laws settle on a constant target; the multibody law's coupling makes its
    /// joints lag a moving one more than the ideal law's.
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn both_laws_reach_a_target_and_the_coupled_one_lags_a_moving_target() {
        let g = gains();
        let mut lag = [0.0; 2];
        for (n, law) in [ServoLaw::Ideal, ServoLaw::Multibody]
            .into_iter()
            .enumerate()
        {
            let mut s = Servo::new(panda::Q_HOME, law);
            let mut q_t = panda::Q_HOME;
            let v_t = [0.8, -0.6, 0.5, 0.7, -0.9, 0.8, 1.0];
            for _ in 0..120 {
                for i in 0..DOF {
                    q_t[i] += v_t[i] / 240.0;
                }
                s.track(&q_t, &v_t, &g);
                for i in 0..DOF {
                    lag[n] = f64::max(lag[n], (s.q[i] - q_t[i]).abs());
                }
            }
            for _ in 0..240 {
                s.track(&q_t, &[0.0; DOF], &g);
            }
            for i in 0..DOF {
                assert!(
                    (s.q[i] - q_t[i]).abs() < 1e-4,
                    "{law:?} joint {i}: {} vs {}",
                    s.q[i],
                    q_t[i]
                );
                assert!(s.qd[i].abs() < 1e-4);
            }
        }
        assert!(lag[1] > 5.0 * lag[0], "lags {lag:?}");
    }

    /// A torque-limited joint cannot follow a step it would need more torque for.
    #[test]
    fn the_multibody_law_respects_the_torque_limits() {
        let g = gains();
        let mut s = Servo::new(panda::Q_HOME, ServoLaw::Multibody);
        let mut q_t = panda::Q_HOME;
        q_t[0] += 1.0;
        let minv = panda::spd_inverse(&panda::mass_matrix(&s.q, g.finger)).unwrap();
        s.track(&q_t, &[0.0; DOF], &g);
        // 4 substeps, each with at most tau h of impulse on the joint (and the little the
        // other joints' rows add through M^-1).
        let bound = 1.5 * 4.0 * panda::TAU_MAX[0] * g.h * minv[0][0];
        assert!(s.qd[0] > 0.0 && s.qd[0] < bound, "{} vs {bound}", s.qd[0]);
    }
}

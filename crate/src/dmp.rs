//! Discrete Dynamic Movement Primitives for end-effector poses.
//!
//! # Notation
//! One DMP encodes one demo segment of `n` samples taken every `dt` seconds
//! (the control period, 0.05 s). Its duration is `tau = (n - 1) * dt`.
//!
//! - phase `x`, canonical system `tau * dx = -alpha_x * x`, `x(0) = 1`,
//!   `alpha_x = -ln(1e-4)` so that `x(tau) = 1e-4`. It is integrated exactly:
//!   `x_k = exp(-alpha_x * k * dt / tau)`.
//! - position `y` (3-D), scaled velocity `z = tau * dy`, start `y0`, goal `g`:
//!   `tau * dz = alpha * (beta * (g - y) - z) + M * f(x)`, `tau * dy = z`,
//!   with `alpha = 25`, `beta = alpha / 4` (critically damped).
//! - forcing term `f(x) = x * sum_i psi_i(x) w_i / sum_i psi_i(x)` with Gaussian
//!   bases `psi_i(x) = exp(-h_i (x - c_i)^2)`, centres `c_i = exp(-alpha_x i / (N - 1))`
//!   (equally spaced in time) and widths `h_i = 1 / (c_{i+1} - c_i)^2` (the last
//!   basis reuses its neighbour's width). The weights `w_i` are 3-vectors.
//! - `M` is the forcing-term scaling ([`Scaling`]): the identity for the demo's own
//!   start and goal, and for a new start/goal either `diag(g - y0) / diag(g_d - y0_d)`
//!   ([`Scaling::Axis`], Ijspeert et al. 2013), the identity ([`Scaling::Fixed`],
//!   what D-MG's code does), or the roto-dilation `s R` that maps the demo's
//!   `g_d - y0_d` onto the new `g - y0` ([`Scaling::Robust`], the default).
//! - orientation (unit quaternion `q`, Ude et al. 2014): angular velocity
//!   `eta = tau * omega`,
//!   `tau * d(eta) = alpha * (beta * 2 log(g * conj(q)) - eta) + f(x)`,
//!   `q <- exp(dt / (2 tau) * eta) * q` (quaternion exponential, so `q` stays unit
//!   and continuous: no sign flips, no Euler-angle wrap).
//! - moving goals: the goal the system is pulled to is a filtered copy of the
//!   target, `tau * dg = alpha_g * (g_target - g)` (for orientation the same
//!   first-order filter along the geodesic), so a goal that jumps gives a bounded
//!   acceleration.
//!
//! # Integration
//! Semi-implicit (symplectic) Euler at the control rate: one [`DmpRunner::step`]
//! per control step, so a segment of `n` samples runs `n - 1` steps from its start
//! sample. Segments shorter than about 26 samples would make the discrete system
//! ring (`alpha * dt / (2 tau) > 0.5`); they are integrated with `substeps`
//! equal sub-steps per control step, the forcing term held over the step.
//!
//! # Fitting
//! The weights solve one ridge-regularised least-squares problem over all samples
//! (normal equations, Cholesky). The targets are obtained by *inverting the
//! discrete integrator*: for each step the forcing value that makes the next
//! position equal the demo's next sample exactly. The rollout with the demo's own
//! start and goal therefore reproduces the demo up to the function-approximation
//! error of the bases, without finite-difference smoothing.
//!
//! # References
//! - A. J. Ijspeert, J. Nakanishi, H. Hoffmann, P. Pastor, S. Schaal, "Dynamical
//!   movement primitives: learning attractor models for motor behaviors",
//!   Neural Computation 25(2), 2013.
//! - A. Ude, B. Nemec, T. Petric, J. Morimoto, "Orientation in Cartesian space
//!   dynamic movement primitives", ICRA 2014.
//!
//! Every array argument documents its shape; positions are metres, angles radians.

use crate::geom::{m, Pose, Quat, Vec3};
use std::fmt;

/// Errors from fitting or configuring a DMP.
#[derive(Clone, Debug, PartialEq)]
pub enum DmpError {
    /// Fewer than 3 samples: a DMP needs a start, a goal and one sample between.
    TooShort { samples: usize },
    /// A sample is NaN or infinite.
    NonFinite { index: usize },
    /// A configuration value is out of range.
    BadConfig(String),
    /// The normal equations could not be factorised (should not happen with ridge > 0).
    Singular,
}

impl fmt::Display for DmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DmpError::TooShort { samples } => write!(
                f,
                "a DMP needs at least 3 samples, the segment has {samples}; merge it with a neighbour"
            ),
            DmpError::NonFinite { index } => write!(f, "sample {index} is NaN or infinite"),
            DmpError::BadConfig(m) => write!(f, "invalid DMP configuration: {m}"),
            DmpError::Singular => write!(f, "least-squares system is singular; raise the regularisation"),
        }
    }
}

impl std::error::Error for DmpError {}

/// How the forcing term is adapted to a new start and goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// `diag(g - y0) / diag(g_demo - y0_demo)` per axis (Ijspeert 2013). Collapses
    /// when a coordinate of the new `g - y0` is 0 and mirrors the motion when its
    /// sign flips; an axis whose demo extent is below 1e-6 m keeps factor 1.
    Axis,
    /// The demo's forcing term unchanged (D-MG's choice).
    Fixed,
    /// Horizontal roto-dilation: turn the forcing term about the vertical by the angle
    /// between the horizontal parts of the demo's `g - y0` and the new one, and scale
    /// its horizontal part by their length ratio (exact in [1/2, 2], saturating smoothly
    /// towards [1/4, 4]); the vertical part is kept, so lifts and descents keep their
    /// shape. The turn and the stretch fade smoothly to [`Scaling::Fixed`] as either
    /// horizontal part shrinks from 2 cm to 0.5 cm (see [`robust_weight`]).
    #[default]
    Robust,
}

impl Scaling {
    /// Parse `axis`, `fixed` or `robust`.
    pub fn parse(s: &str) -> Option<Scaling> {
        match s {
            "axis" => Some(Scaling::Axis),
            "fixed" => Some(Scaling::Fixed),
            "robust" => Some(Scaling::Robust),
            _ => None,
        }
    }
}

/// DMP hyper-parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DmpConfig {
    /// Number of Gaussian bases N (default 50). D-MG uses 100; for the ~50-150
    /// sample segments of a 20 Hz demo, 50 bases already give one basis per 1-3
    /// samples (reproduction error well below 1 mm) while keeping fitting and
    /// every rollout step twice as cheap and the weights better conditioned.
    pub n_bases: usize,
    /// Spring gain alpha (default 25, as in D-MG).
    pub alpha: f64,
    /// Damper gain beta (default alpha / 4: critically damped).
    pub beta: f64,
    /// Phase decay alpha_x (default -ln(1e-4) ~ 9.21).
    pub alpha_x: f64,
    /// Goal-filter gain alpha_g (default 10: time constant tau / 10).
    pub alpha_g: f64,
    /// Control period in seconds (default 0.05, 20 Hz).
    pub dt: f64,
    /// Ridge regularisation relative to the mean diagonal of the normal equations (default 1e-8).
    pub ridge: f64,
    /// Position forcing-term scaling (default [`Scaling::Robust`]).
    pub scaling: Scaling,
    /// Orientation forcing-term scaling on rotation vectors (default [`Scaling::Fixed`]:
    /// stretching a small demo rotation to a large new one amplifies wrist twists).
    pub orientation_scaling: Scaling,
    /// Extra steps a runner takes after the segment's own `n - 1` steps so that a goal
    /// that moved late is still reached (default 0: with a goal fixed at reset the
    /// rollout already ends on it).
    pub settle_steps: usize,
}

impl Default for DmpConfig {
    fn default() -> Self {
        DmpConfig {
            n_bases: 50,
            alpha: 25.0,
            beta: 25.0 / 4.0,
            alpha_x: -m::ln(1e-4),
            alpha_g: 10.0,
            dt: 0.05,
            ridge: 1e-8,
            scaling: Scaling::Robust,
            orientation_scaling: Scaling::Fixed,
            settle_steps: 0,
        }
    }
}

impl DmpConfig {
    fn check(&self) -> Result<(), DmpError> {
        let pos = |v: f64, name: &str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(DmpError::BadConfig(format!(
                    "{name} must be finite and > 0, got {v}"
                )))
            }
        };
        pos(self.alpha, "alpha")?;
        pos(self.beta, "beta")?;
        pos(self.alpha_x, "alpha_x")?;
        pos(self.dt, "dt")?;
        if !(self.alpha_g.is_finite() && self.alpha_g >= 0.0) {
            return Err(DmpError::BadConfig("alpha_g must be >= 0".into()));
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(DmpError::BadConfig("ridge must be >= 0".into()));
        }
        if !(1..=1000).contains(&self.n_bases) {
            return Err(DmpError::BadConfig(format!(
                "n_bases must be in 1..=1000, got {}",
                self.n_bases
            )));
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ bases

/// Gaussian bases over the phase.
#[derive(Clone, Debug, PartialEq)]
pub struct Basis {
    /// N centres `c_i`.
    pub centers: Vec<f64>,
    /// N widths `h_i`.
    pub widths: Vec<f64>,
}

impl Basis {
    pub fn new(n: usize, alpha_x: f64) -> Basis {
        let n = n.max(1);
        let centers: Vec<f64> = (0..n)
            .map(|i| {
                if n == 1 {
                    1.0
                } else {
                    m::exp(-alpha_x * i as f64 / (n - 1) as f64)
                }
            })
            .collect();
        let mut widths: Vec<f64> = centers
            .windows(2)
            .map(|w| 1.0 / ((w[1] - w[0]) * (w[1] - w[0])))
            .collect();
        let last = widths.last().copied().unwrap_or(1.0);
        widths.push(last);
        Basis { centers, widths }
    }

    pub fn len(&self) -> usize {
        self.centers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.centers.is_empty()
    }

    /// Normalised, phase-gated features `x * psi_i(x) / sum_j psi_j(x)`; `out` has N entries.
    pub fn features(&self, x: f64, out: &mut [f64]) {
        let mut sum = 0.0;
        for ((o, c), h) in out.iter_mut().zip(&self.centers).zip(&self.widths) {
            let d = x - c;
            *o = m::exp(-h * d * d);
            sum += *o;
        }
        let s = if sum > 1e-300 { x / sum } else { 0.0 };
        for o in out.iter_mut() {
            *o *= s;
        }
    }

    /// Forcing term `f(x)` for 3-vector weights (`weights`: N rows).
    pub fn forcing(&self, x: f64, weights: &[Vec3]) -> Vec3 {
        let mut num = Vec3::ZERO;
        let mut sum = 0.0;
        for ((c, h), w) in self.centers.iter().zip(&self.widths).zip(weights) {
            let d = x - c;
            let p = m::exp(-h * d * d);
            num += *w * p;
            sum += p;
        }
        if sum > 1e-300 {
            num * (x / sum)
        } else {
            Vec3::ZERO
        }
    }
}

/// Solve `A w = B` for symmetric positive definite `A` (n x n, row-major, `a.len() == n*n`)
/// and 3 right-hand sides (`b`: n rows). Cholesky factorisation in place.
pub fn cholesky_solve(a: &mut [f64], n: usize, b: &[Vec3]) -> Result<Vec<Vec3>, DmpError> {
    if a.len() != n * n || b.len() != n {
        return Err(DmpError::BadConfig("cholesky_solve: shape mismatch".into()));
    }
    // A = L L^T, L stored in the lower triangle.
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if !(d > 0.0 && d.is_finite()) {
            return Err(DmpError::Singular);
        }
        let d = m::sqrt(d);
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    let mut y = b.to_vec();
    for i in 0..n {
        let mut s = y[i];
        for k in 0..i {
            s -= y[k] * a[i * n + k];
        }
        y[i] = s * (1.0 / a[i * n + i]);
    }
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= y[k] * a[k * n + i];
        }
        y[i] = s * (1.0 / a[i * n + i]);
    }
    Ok(y)
}

/// Ridge least squares: weights (N rows) minimising `sum_k |Phi(x_k) w - f_k|^2 + lambda |w|^2`.
/// `phases`: K phase values; `targets`: K target 3-vectors.
fn fit_weights(
    basis: &Basis,
    phases: &[f64],
    targets: &[Vec3],
    ridge: f64,
) -> Result<Vec<Vec3>, DmpError> {
    let n = basis.len();
    let mut a = vec![0.0; n * n];
    let mut b = vec![Vec3::ZERO; n];
    let mut phi = vec![0.0; n];
    for (&x, &f) in phases.iter().zip(targets) {
        basis.features(x, &mut phi);
        for i in 0..n {
            let pi = phi[i];
            if pi == 0.0 {
                continue;
            }
            b[i] += f * pi;
            let row = &mut a[i * n..(i + 1) * n];
            for (r, pj) in row.iter_mut().zip(&phi) {
                *r += pi * pj;
            }
        }
    }
    let trace: f64 = (0..n).map(|i| a[i * n + i]).sum();
    let lambda = ridge * (trace / n as f64) + 1e-300;
    for i in 0..n {
        a[i * n + i] += lambda;
    }
    cholesky_solve(&mut a, n, &b)
}

// ------------------------------------------------------------------ scaling

type Mat3 = [[f64; 3]; 3];
const I3: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

fn mat_vec(a: &Mat3, v: Vec3) -> Vec3 {
    Vec3([
        a[0][0] * v.0[0] + a[0][1] * v.0[1] + a[0][2] * v.0[2],
        a[1][0] * v.0[0] + a[1][1] * v.0[1] + a[1][2] * v.0[2],
        a[2][0] * v.0[0] + a[2][1] * v.0[1] + a[2][2] * v.0[2],
    ])
}

const SCALE_EPS: f64 = 1e-6;

/// The forcing-term matrix `M` (row-major 3x3) mapping the demo's forcing term to
/// the one for a new start/goal. `demo`: demo's `g - y0`; `new`: new `g - y0`.
pub fn scaling_matrix(kind: Scaling, demo: Vec3, new: Vec3) -> [[f64; 3]; 3] {
    match kind {
        Scaling::Fixed => I3,
        Scaling::Axis => {
            let mut m3 = I3;
            for (i, row) in m3.iter_mut().enumerate() {
                if demo.0[i].abs() > SCALE_EPS {
                    row[i] = new.0[i] / demo.0[i];
                }
            }
            m3
        }
        Scaling::Robust => {
            // Turn about the vertical and stretch in the horizontal plane only: the
            // vertical shape of the motion (lifting over obstacles, descending onto an
            // object) is kept, whichever way the goal moved.
            //
            // Everything is continuous in the goal: the turn angle and the logarithm of
            // the stretch are faded in by a weight that rises smoothly from 0 (shorter
            // horizontal vector below ROBUST_BLEND_START) to 1 (above ROBUST_BLEND_END),
            // and the stretch saturates smoothly (tanh in log space) instead of being
            // clipped, so a goal moving through the small-distance zone or past the
            // stretch limit does not jerk the forcing term.
            let hd = Vec3::new(demo.x(), demo.y(), 0.0);
            let hn = Vec3::new(new.x(), new.y(), 0.0);
            let (ld, ln) = (hd.norm(), hn.norm());
            let w = robust_weight(ld.min(ln));
            if w <= 0.0 {
                return I3;
            }
            let angle = m::atan2(hd.x() * hn.y() - hd.y() * hn.x(), hd.dot(hn));
            let s = m::exp(w * robust_log_stretch(m::ln(ln / ld)));
            let (sn, c) = (m::sin(w * angle), m::cos(w * angle));
            [[s * c, -s * sn, 0.0], [s * sn, s * c, 0.0], [0.0, 0.0, 1.0]]
        }
    }
}

/// The weight of [`Scaling::Robust`]'s turn and stretch for a horizontal start-to-goal
/// distance `d` (the shorter of the demo's and the new one): 0 below
/// [`ROBUST_BLEND_START`] (the direction of a vector that short is noise), 1 above
/// [`ROBUST_BLEND_END`], a smoothstep between (continuous with a continuous slope).
pub fn robust_weight(d: f64) -> f64 {
    let t = ((d - ROBUST_BLEND_START) / (ROBUST_BLEND_END - ROBUST_BLEND_START)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The logarithm of [`Scaling::Robust`]'s stretch for a length ratio `exp(l)`: exact for
/// ratios in [1/2, 2] (`|l| <= ln 2`), then saturating smoothly (tanh, with a continuous
/// slope at ln 2) towards [`ROBUST_MAX_STRETCH`] or its inverse.
pub fn robust_log_stretch(l: f64) -> f64 {
    let knee = m::ln(2.0);
    let limit = m::ln(ROBUST_MAX_STRETCH);
    let a = l.abs();
    if a <= knee {
        return l;
    }
    let soft = knee + (limit - knee) * m::tanh((a - knee) / (limit - knee));
    soft.copysign(l)
}

/// Horizontal start-to-goal distance below which [`Scaling::Robust`] keeps the demo's
/// forcing term unchanged (m).
pub const ROBUST_BLEND_START: f64 = 0.005;
/// Horizontal start-to-goal distance from which [`Scaling::Robust`] turns and stretches
/// fully (m).
pub const ROBUST_BLEND_END: f64 = 0.02;
/// Limit that the horizontal stretch of [`Scaling::Robust`] approaches smoothly (and its
/// inverse, the limit of shrinking); see [`robust_log_stretch`].
pub const ROBUST_MAX_STRETCH: f64 = 4.0;

// ------------------------------------------------------------------ position

/// Discrete timing shared by the position and orientation systems.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Control steps in the segment (`samples - 1`).
    pub steps: usize,
    /// Control period, s.
    pub dt: f64,
    /// Duration `tau = steps * dt`, s.
    pub tau: f64,
    /// Sub-steps per control step (1 for segments of 26 samples or more).
    pub substeps: usize,
    /// Phase factor per sub-step, `exp(-alpha_x * dt / (substeps * tau))`.
    pub decay: f64,
    /// Goal-filter gain per control step, [`goal_filter_gain`]`(alpha_g, dt, tau)`.
    pub goal_gain: f64,
}

impl Timing {
    fn new(samples: usize, cfg: &DmpConfig) -> Timing {
        let steps = samples.saturating_sub(1).max(1);
        let tau = steps as f64 * cfg.dt;
        let a = cfg.alpha * cfg.dt / (2.0 * tau);
        let substeps = if a > 0.5 {
            (a / 0.5).ceil() as usize
        } else {
            1
        };
        let decay = m::exp(-cfg.alpha_x * cfg.dt / (substeps as f64 * tau));
        Timing {
            steps,
            dt: cfg.dt,
            tau,
            substeps,
            decay,
            goal_gain: goal_filter_gain(cfg.alpha_g, cfg.dt, tau),
        }
    }
}

/// A fitted 3-D position DMP.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionDmp {
    pub timing: Timing,
    pub alpha: f64,
    pub beta: f64,
    pub alpha_g: f64,
    pub scaling: Scaling,
    pub basis: Basis,
    /// N weight 3-vectors.
    pub weights: Vec<Vec3>,
    /// Demo start and goal.
    pub demo_start: Vec3,
    pub demo_goal: Vec3,
}

/// State of a position DMP between steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PosState {
    /// Position, m.
    pub y: Vec3,
    /// Scaled velocity `tau * dy`, m.
    pub z: Vec3,
    /// Phase.
    pub x: f64,
    /// Filtered goal, m.
    pub g: Vec3,
}

impl PosState {
    pub fn at_rest(y: Vec3, goal: Vec3) -> PosState {
        PosState {
            y,
            z: Vec3::ZERO,
            x: 1.0,
            g: goal,
        }
    }
}

/// One sub-step of the transformation system with forcing value `f` (already scaled),
/// pulled to the state's (filtered) goal `s.g`.
fn pos_substep(p: &PositionDmp, s: &mut PosState, f: Vec3, h: f64) {
    let tau = p.timing.tau;
    let zd = ((s.g - s.y) * p.beta - s.z) * p.alpha + f;
    s.z += zd * (h / tau);
    s.y += s.z * (h / tau);
}

/// The fraction of the remaining distance to its target that the filtered goal covers in
/// one control step: the exact discretisation of `tau dg = alpha_g (g_target - g)` for a
/// target held over the step, `1 - exp(-dt alpha_g / tau)`, which lies in (0, 1) for every
/// gain (no gain overshoots or diverges). `alpha_g = 0` means no filter: the goal equals
/// its target at every step (gain 1), as in D-MG.
pub fn goal_filter_gain(alpha_g: f64, dt: f64, tau: f64) -> f64 {
    if alpha_g <= 0.0 {
        1.0
    } else {
        1.0 - m::exp(-dt * alpha_g / tau)
    }
}

/// Pure step: the state one control step later. `start` is the rollout's `y0`
/// (used by the forcing-term scaling), `goal_target` the (possibly moving) goal.
///
/// The goal filter is advanced first (exactly, over the whole control step), so the
/// spring, the damper and the forcing-term scaling of this step all see the goal of
/// this step: with `alpha_g = 0` that is the live target itself.
pub fn position_step(p: &PositionDmp, s: &PosState, start: Vec3, goal_target: Vec3) -> PosState {
    let mut n = *s;
    let k = p.timing.goal_gain;
    n.g = if k >= 1.0 {
        goal_target
    } else {
        s.g + (goal_target - s.g) * k
    };
    let mscale = scaling_matrix(p.scaling, p.demo_goal - p.demo_start, n.g - start);
    let f = mat_vec(&mscale, p.basis.forcing(s.x, &p.weights));
    let h = p.timing.dt / p.timing.substeps as f64;
    for _ in 0..p.timing.substeps {
        pos_substep(p, &mut n, f, h);
        n.x *= p.timing.decay;
    }
    n
}

impl PositionDmp {
    /// How far behind a goal moving at constant velocity `v` the system settles, in
    /// seconds (the lag is `v` times this): `tau / beta` from the spring-damper plus
    /// `tau / alpha_g` from the goal filter. A caller that knows the goal's velocity
    /// can lead the goal by this much to cancel the lag.
    pub fn ramp_lag_time(&self) -> f64 {
        let spring = self.timing.tau / self.beta;
        // The discrete filter `g += k (target - g)` trails a ramp by `dt (1 - k) / k`
        // (about `tau / alpha_g - dt` for small gains; 0 without a filter).
        let k = self.timing.goal_gain;
        spring + self.timing.dt * (1.0 - k) / k
    }

    /// Fit to `ys` (`n >= 3` positions, one per control step), starting at rest.
    pub fn fit(ys: &[Vec3], cfg: &DmpConfig) -> Result<PositionDmp, DmpError> {
        Self::fit_moving(ys, Vec3::ZERO, cfg)
    }

    /// Fit to `ys` entered with velocity `v0` (m/s): the velocity the demo had at its
    /// first sample (a segment cut out of a continuous motion). A rollout started with
    /// the same velocity reproduces the demo; one started at rest is pulled onto it by
    /// the spring.
    pub fn fit_moving(ys: &[Vec3], v0: Vec3, cfg: &DmpConfig) -> Result<PositionDmp, DmpError> {
        cfg.check()?;
        if !v0.is_finite() {
            return Err(DmpError::NonFinite { index: 0 });
        }
        if ys.len() < 3 {
            return Err(DmpError::TooShort { samples: ys.len() });
        }
        if let Some(i) = ys.iter().position(|y| !y.is_finite()) {
            return Err(DmpError::NonFinite { index: i });
        }
        let timing = Timing::new(ys.len(), cfg);
        let (y0, g) = (ys[0], ys[ys.len() - 1]);
        let mut p = PositionDmp {
            timing,
            alpha: cfg.alpha,
            beta: cfg.beta,
            alpha_g: cfg.alpha_g,
            scaling: cfg.scaling,
            basis: Basis::new(cfg.n_bases, cfg.alpha_x),
            weights: vec![Vec3::ZERO; cfg.n_bases],
            demo_start: y0,
            demo_goal: g,
        };
        // Invert the discrete integrator: the forcing value that lands each step on
        // the next demo sample. The step is affine in f, so two probes give it.
        let h = timing.dt / timing.substeps as f64;
        let mut phases = Vec::with_capacity(ys.len() - 1);
        let mut targets = Vec::with_capacity(ys.len() - 1);
        let mut s = PosState::at_rest(y0, g);
        s.z = v0 * timing.tau;
        for k in 0..ys.len() - 1 {
            let mut s0 = s;
            let mut s1 = s;
            for _ in 0..timing.substeps {
                pos_substep(&p, &mut s0, Vec3::ZERO, h);
                pos_substep(&p, &mut s1, Vec3::new(1.0, 1.0, 1.0), h);
            }
            let gain = s1.y.x() - s0.y.x(); // same on every axis
            let f = (ys[k + 1] - s0.y) * (1.0 / gain);
            phases.push(s.x);
            targets.push(f);
            s.y = ys[k + 1];
            s.z = s0.z + (s1.z - s0.z).component_mul(f);
            for _ in 0..timing.substeps {
                s.x *= timing.decay;
            }
        }
        p.weights = fit_weights(&p.basis, &phases, &targets, cfg.ridge)?;
        Ok(p)
    }

    /// Roll out from `start` to a fixed `goal` for the segment's steps plus `extra`
    /// steps; returns `steps + 1 + extra` positions, the first being `start`.
    pub fn rollout(&self, start: Vec3, goal: Vec3, extra: usize) -> Vec<Vec3> {
        let mut s = PosState::at_rest(start, goal);
        let mut out = Vec::with_capacity(self.timing.steps + 1 + extra);
        out.push(start);
        for _ in 0..self.timing.steps + extra {
            s = position_step(self, &s, start, goal);
            out.push(s.y);
        }
        out
    }
}

// ------------------------------------------------------------------ orientation

/// A fitted orientation DMP (unit quaternions).
#[derive(Clone, Debug, PartialEq)]
pub struct OrientationDmp {
    pub timing: Timing,
    pub alpha: f64,
    pub beta: f64,
    pub alpha_g: f64,
    pub scaling: Scaling,
    pub basis: Basis,
    /// N weight 3-vectors (angular, rad).
    pub weights: Vec<Vec3>,
    pub demo_start: Quat,
    pub demo_goal: Quat,
}

/// State of an orientation DMP between steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OriState {
    /// Orientation.
    pub q: Quat,
    /// Scaled angular velocity `tau * omega`, rad.
    pub eta: Vec3,
    /// Phase.
    pub x: f64,
    /// Filtered goal.
    pub g: Quat,
}

impl OriState {
    pub fn at_rest(q: Quat, goal: Quat) -> OriState {
        OriState {
            q,
            eta: Vec3::ZERO,
            x: 1.0,
            g: goal,
        }
    }
}

/// `2 log(a * conj(b))`: the rotation vector taking `b` to `a` (shortest arc).
#[inline]
fn rot_err(a: Quat, b: Quat) -> Vec3 {
    (a * b.conj()).log() * 2.0
}

fn ori_substep(o: &OrientationDmp, s: &mut OriState, f: Vec3, h: f64) {
    let tau = o.timing.tau;
    let ed = (rot_err(s.g, s.q) * o.beta - s.eta) * o.alpha + f;
    s.eta += ed * (h / tau);
    s.q = (Quat::exp(s.eta * (0.5 * h / tau)) * s.q).normalized();
}

/// Pure step of the orientation system; see [`position_step`].
pub fn orientation_step(
    o: &OrientationDmp,
    s: &OriState,
    start: Quat,
    goal_target: Quat,
) -> OriState {
    let mut n = *s;
    // The same exact first-order filter as the position goal, along the geodesic.
    let k = o.timing.goal_gain;
    n.g = if k >= 1.0 {
        goal_target.normalized()
    } else {
        (Quat::exp((goal_target * s.g.conj()).log() * k) * s.g).normalized()
    };
    let mscale = scaling_matrix(
        o.scaling,
        rot_err(o.demo_goal, o.demo_start),
        rot_err(n.g, start),
    );
    let f = mat_vec(&mscale, o.basis.forcing(s.x, &o.weights));
    let h = o.timing.dt / o.timing.substeps as f64;
    for _ in 0..o.timing.substeps {
        ori_substep(o, &mut n, f, h);
        n.x *= o.timing.decay;
    }
    n
}

impl OrientationDmp {
    /// Fit to `qs` (`n >= 3` quaternions; sign flips between samples are removed first),
    /// starting at rest.
    pub fn fit(qs: &[Quat], cfg: &DmpConfig) -> Result<OrientationDmp, DmpError> {
        Self::fit_moving(qs, Vec3::ZERO, cfg)
    }

    /// Fit to `qs` entered with angular velocity `w0` (rad/s, world frame); see
    /// [`PositionDmp::fit_moving`].
    pub fn fit_moving(qs: &[Quat], w0: Vec3, cfg: &DmpConfig) -> Result<OrientationDmp, DmpError> {
        cfg.check()?;
        if !w0.is_finite() {
            return Err(DmpError::NonFinite { index: 0 });
        }
        if qs.len() < 3 {
            return Err(DmpError::TooShort { samples: qs.len() });
        }
        if let Some(i) = qs.iter().position(|q| !q.is_finite() || q.norm() < 1e-9) {
            return Err(DmpError::NonFinite { index: i });
        }
        let mut aligned = Vec::with_capacity(qs.len());
        let mut prev = qs[0].normalized();
        for q in qs {
            let a = q.normalized().aligned_with(prev);
            aligned.push(a);
            prev = a;
        }
        let timing = Timing::new(qs.len(), cfg);
        let (q0, g) = (aligned[0], aligned[aligned.len() - 1]);
        let mut o = OrientationDmp {
            timing,
            alpha: cfg.alpha,
            beta: cfg.beta,
            alpha_g: cfg.alpha_g,
            scaling: cfg.orientation_scaling,
            basis: Basis::new(cfg.n_bases, cfg.alpha_x),
            weights: vec![Vec3::ZERO; cfg.n_bases],
            demo_start: q0,
            demo_goal: g,
        };
        // Inverse of one control step. With one sub-step it is closed-form and exact;
        // with several, a few Newton iterations on the landing error, using the
        // (axis-independent) gain of the linearised step, make it exact to ~1e-9 rad.
        let tau = timing.tau;
        let dt = timing.dt;
        let h = dt / timing.substeps as f64;
        let gain = {
            let mut s0 = OriState::at_rest(Quat::IDENTITY, Quat::IDENTITY);
            let probe = 1e-6;
            for _ in 0..timing.substeps {
                ori_substep(&o, &mut s0, Vec3::new(probe, 0.0, 0.0), h);
            }
            s0.q.to_rotvec().x() / probe
        };
        let mut phases = Vec::with_capacity(qs.len() - 1);
        let mut targets = Vec::with_capacity(qs.len() - 1);
        let mut eta = w0 * tau;
        let mut x = 1.0;
        for k in 0..aligned.len() - 1 {
            let eta_next = rot_err(aligned[k + 1], aligned[k]) * (tau / dt);
            let mut f =
                (eta_next - eta) * (tau / dt) - (rot_err(g, aligned[k]) * o.beta - eta) * o.alpha;
            if timing.substeps == 1 {
                eta = eta_next;
            } else {
                let land = |f: Vec3| {
                    let mut st = OriState {
                        q: aligned[k],
                        eta,
                        x,
                        g,
                    };
                    for _ in 0..timing.substeps {
                        ori_substep(&o, &mut st, f, h);
                    }
                    st
                };
                for _ in 0..4 {
                    let miss = rot_err(aligned[k + 1], land(f).q);
                    f += miss * (1.0 / gain);
                }
                eta = land(f).eta;
            }
            phases.push(x);
            targets.push(f);
            for _ in 0..timing.substeps {
                x *= timing.decay;
            }
        }
        o.weights = fit_weights(&o.basis, &phases, &targets, cfg.ridge)?;
        Ok(o)
    }
}

// ------------------------------------------------------------------ pose

/// Position + orientation DMP of one subtask segment.
#[derive(Clone, Debug, PartialEq)]
pub struct PoseDmp {
    pub pos: PositionDmp,
    pub ori: OrientationDmp,
    /// Extra steps after the segment's own (see [`DmpConfig::settle_steps`]).
    pub settle_steps: usize,
}

impl PoseDmp {
    /// Fit to a segment of `n >= 3` poses sampled every `cfg.dt`, starting at rest.
    pub fn fit(poses: &[Pose], cfg: &DmpConfig) -> Result<PoseDmp, DmpError> {
        Self::fit_entered(poses, None, cfg)
    }

    /// Fit to a segment of `n >= 3` poses whose motion was entered from `before` (the
    /// demo's sample just before the segment, `cfg.dt` earlier): the segment starts with
    /// the velocity the demo had there (see [`PoseVelocity::between`]). `None`: at rest.
    pub fn fit_entered(
        poses: &[Pose],
        before: Option<&Pose>,
        cfg: &DmpConfig,
    ) -> Result<PoseDmp, DmpError> {
        let ys: Vec<Vec3> = poses.iter().map(|p| p.pos).collect();
        let qs: Vec<Quat> = poses.iter().map(|p| p.quat).collect();
        let v = match (before, poses.first()) {
            (Some(b), Some(first)) => PoseVelocity::between(b, first, cfg.dt),
            _ => PoseVelocity::ZERO,
        };
        Ok(PoseDmp {
            pos: PositionDmp::fit_moving(&ys, v.linear, cfg)?,
            ori: OrientationDmp::fit_moving(&qs, v.angular, cfg)?,
            settle_steps: cfg.settle_steps,
        })
    }

    /// The segment's own number of control steps (`samples - 1`).
    pub fn steps(&self) -> usize {
        self.pos.timing.steps
    }

    /// Demo start and goal poses.
    pub fn demo_start(&self) -> Pose {
        Pose::new(self.pos.demo_start, self.ori.demo_start)
    }
    pub fn demo_goal(&self) -> Pose {
        Pose::new(self.pos.demo_goal, self.ori.demo_goal)
    }
}

/// Linear (m/s) and angular (rad/s, world frame) velocity of a pose.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoseVelocity {
    pub linear: Vec3,
    pub angular: Vec3,
}

impl PoseVelocity {
    pub const ZERO: PoseVelocity = PoseVelocity {
        linear: Vec3::ZERO,
        angular: Vec3::ZERO,
    };

    /// The velocity that takes pose `from` to pose `to` in `dt` seconds (the backward
    /// difference the semi-implicit integrator's velocity state stands for).
    pub fn between(from: &Pose, to: &Pose, dt: f64) -> PoseVelocity {
        PoseVelocity {
            linear: (to.pos - from.pos) * (1.0 / dt),
            angular: rot_err(to.quat, from.quat) * (1.0 / dt),
        }
    }
}

/// A pose DMP being executed: holds the state, takes one control step at a time,
/// and accepts a new goal at any step.
#[derive(Clone, Debug)]
pub struct DmpRunner {
    model: PoseDmp,
    start: Pose,
    goal: Pose,
    pos: PosState,
    ori: OriState,
    k: usize,
}

impl DmpRunner {
    /// A runner at rest at `start`, heading for `goal`.
    pub fn new(model: PoseDmp, start: Pose, goal: Pose) -> DmpRunner {
        DmpRunner {
            pos: PosState::at_rest(start.pos, goal.pos),
            ori: OriState::at_rest(start.quat, goal.quat),
            model,
            start,
            goal,
            k: 0,
        }
    }

    /// A runner at `start` already moving with velocity `v` (the commanded velocity of
    /// the motion it continues), heading for `goal`.
    pub fn moving(model: PoseDmp, start: Pose, goal: Pose, v: PoseVelocity) -> DmpRunner {
        let mut r = DmpRunner::new(model, start, goal);
        if v.linear.is_finite() && v.angular.is_finite() {
            r.pos.z = v.linear * r.model.pos.timing.tau;
            r.ori.eta = v.angular * r.model.ori.timing.tau;
        }
        r
    }

    /// Restart at rest from `start` (phase 1, step 0); the filtered goal snaps to the current target.
    pub fn reset(&mut self, start: Pose) {
        self.start = start;
        self.pos = PosState::at_rest(start.pos, self.goal.pos);
        self.ori = OriState::at_rest(start.quat, self.goal.quat);
        self.k = 0;
    }

    /// Change the goal target; the system follows it through the goal filter.
    pub fn set_goal(&mut self, goal: Pose) {
        self.goal = goal;
    }

    /// Advance one control step and return the commanded pose.
    pub fn step(&mut self) -> Pose {
        self.pos = position_step(&self.model.pos, &self.pos, self.start.pos, self.goal.pos);
        self.ori = orientation_step(&self.model.ori, &self.ori, self.start.quat, self.goal.quat);
        self.k += 1;
        self.pose()
    }

    /// The current commanded pose.
    pub fn pose(&self) -> Pose {
        Pose::new(self.pos.y, self.ori.q)
    }

    /// Steps taken since the last reset.
    pub fn steps_taken(&self) -> usize {
        self.k
    }

    /// Steps the segment runs: its own steps plus the settle steps.
    pub fn total_steps(&self) -> usize {
        self.model.steps() + self.model.settle_steps
    }

    pub fn is_done(&self) -> bool {
        self.k >= self.total_steps()
    }

    /// Current goal target and the filtered goal the system is pulled to.
    pub fn goal(&self) -> Pose {
        self.goal
    }
    pub fn filtered_goal(&self) -> Pose {
        Pose::new(self.pos.g, self.ori.g)
    }

    pub fn model(&self) -> &PoseDmp {
        &self.model
    }

    /// The next `n` poses if the goal stays where it is (for drawing the planned
    /// path); does not change the runner.
    pub fn planned_path(&self, n: usize) -> Vec<Pose> {
        let (mut pos, mut ori) = (self.pos, self.ori);
        (0..n)
            .map(|_| {
                pos = position_step(&self.model.pos, &pos, self.start.pos, self.goal.pos);
                ori = orientation_step(&self.model.ori, &ori, self.start.quat, self.goal.quat);
                Pose::new(pos.y, ori.q)
            })
            .collect()
    }

    /// The poses until the end of the segment (`total_steps - steps_taken` poses).
    pub fn remaining_path(&self) -> Vec<Pose> {
        self.planned_path(self.total_steps().saturating_sub(self.k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// A smooth random 3-D reaching curve of `n` samples (min-jerk base + bumps).
    fn random_curve(rng: &mut Rng, n: usize) -> Vec<Vec3> {
        let y0 = Vec3::new(
            rng.range(0.3, 0.6),
            rng.range(-0.2, 0.2),
            rng.range(0.05, 0.3),
        );
        let g = Vec3::new(
            rng.range(0.3, 0.6),
            rng.range(-0.2, 0.2),
            rng.range(0.05, 0.3),
        );
        let bump = Vec3::new(
            rng.range(-0.1, 0.1),
            rng.range(-0.1, 0.1),
            rng.range(0.0, 0.15),
        );
        let freq = rng.range(1.0, 2.0);
        (0..n)
            .map(|k| {
                let s = k as f64 / (n - 1) as f64;
                let mj = s * s * s * (10.0 - 15.0 * s + 6.0 * s * s);
                let b = m::sin(std::f64::consts::PI * s);
                let w = m::sin(std::f64::consts::PI * freq * s) * b;
                y0.lerp(g, mj) + bump * (b * b) + Vec3::new(0.0, 0.02 * w, 0.0)
            })
            .collect()
    }

    fn extent(ys: &[Vec3]) -> f64 {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for y in ys {
            for i in 0..3 {
                lo[i] = lo[i].min(y.0[i]);
                hi[i] = hi[i].max(y.0[i]);
            }
        }
        (0..3).map(|i| hi[i] - lo[i]).fold(0.0, f64::max)
    }

    fn rms(a: &[Vec3], b: &[Vec3]) -> f64 {
        let s: f64 = a.iter().zip(b).map(|(x, y)| (*x - *y).dot(*x - *y)).sum();
        m::sqrt(s / a.len() as f64)
    }

    #[test]
    fn cholesky_solves_spd_system() {
        let mut rng = Rng::new(5);
        let n = 7;
        let b: Vec<f64> = (0..n * n).map(|_| rng.range(-1.0, 1.0)).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum::<f64>()
                    + if i == j { 0.5 } else { 0.0 };
            }
        }
        let x: Vec<Vec3> = (0..n)
            .map(|_| Vec3::new(rng.normal(), rng.normal(), rng.normal()))
            .collect();
        let rhs: Vec<Vec3> = (0..n)
            .map(|i| (0..n).fold(Vec3::ZERO, |acc, j| acc + x[j] * a[i * n + j]))
            .collect();
        let mut fac = a.clone();
        let sol = cholesky_solve(&mut fac, n, &rhs).unwrap();
        for (s, t) in sol.iter().zip(&x) {
            assert!((*s - *t).norm() < 1e-9);
        }
        let mut neg = vec![-1.0, 0.0, 0.0, 1.0];
        assert_eq!(
            cholesky_solve(&mut neg, 2, &[Vec3::ZERO; 2]),
            Err(DmpError::Singular)
        );
    }

    #[test]
    fn reproduces_demo_and_starts_and_ends_on_it() {
        let mut rng = Rng::new(11);
        for trial in 0..8 {
            let n = 40 + rng.below(120) as usize;
            let ys = random_curve(&mut rng, n);
            let p = PositionDmp::fit(&ys, &DmpConfig::default()).unwrap();
            let out = p.rollout(ys[0], ys[n - 1], 0);
            assert_eq!(out.len(), n);
            assert_eq!(out[0], ys[0]);
            let e = rms(&out, &ys);
            assert!(
                e < 0.01 * extent(&ys),
                "trial {trial}: rms {e} extent {}",
                extent(&ys)
            );
            assert!(
                (out[n - 1] - ys[n - 1]).norm() < 1e-3,
                "trial {trial}: end {:?}",
                out[n - 1] - ys[n - 1]
            );
        }
    }

    #[test]
    fn noisy_demos_are_smoothed_not_amplified() {
        let mut rng = Rng::new(21);
        let clean = random_curve(&mut rng, 120);
        let noisy: Vec<Vec3> = clean
            .iter()
            .map(|y| *y + Vec3::new(rng.normal(), rng.normal(), rng.normal()) * 0.001)
            .collect();
        let p = PositionDmp::fit(&noisy, &DmpConfig::default()).unwrap();
        let out = p.rollout(noisy[0], noisy[119], 0);
        // Within a few noise standard deviations of the clean curve everywhere.
        let worst = out
            .iter()
            .zip(&clean)
            .map(|(a, b)| (*a - *b).norm())
            .fold(0.0, f64::max);
        assert!(worst < 0.006, "worst deviation {worst}");
        assert!(out.iter().all(|y| y.is_finite()));
    }

    #[test]
    fn reaches_new_goals_with_every_scaling() {
        let mut rng = Rng::new(12);
        for scaling in [Scaling::Axis, Scaling::Fixed, Scaling::Robust] {
            let cfg = DmpConfig {
                scaling,
                settle_steps: 0,
                ..DmpConfig::default()
            };
            for _ in 0..5 {
                let ys = random_curve(&mut rng, 100);
                let p = PositionDmp::fit(&ys, &cfg).unwrap();
                let start = ys[0] + Vec3::new(rng.range(-0.1, 0.1), rng.range(-0.1, 0.1), 0.0);
                let goal = ys[99]
                    + Vec3::new(
                        rng.range(-0.15, 0.15),
                        rng.range(-0.15, 0.15),
                        rng.range(-0.05, 0.05),
                    );
                // Fixed scaling has no equivariance: allow a few settle steps.
                let extra = if scaling == Scaling::Fixed { 60 } else { 0 };
                let out = p.rollout(start, goal, extra);
                assert_eq!(out[0], start);
                let end = *out.last().unwrap();
                assert!(
                    (end - goal).norm() < 1e-3,
                    "{scaling:?}: end error {}",
                    (end - goal).norm()
                );
            }
        }
    }

    #[test]
    fn axis_scaling_is_per_axis_scaled_demo_rollout() {
        let mut rng = Rng::new(13);
        let cfg = DmpConfig {
            scaling: Scaling::Axis,
            ..DmpConfig::default()
        };
        let ys = random_curve(&mut rng, 90);
        let p = PositionDmp::fit(&ys, &cfg).unwrap();
        let (y0, g) = (ys[0], ys[89]);
        let same = p.rollout(y0, g, 0);
        let start = y0 + Vec3::new(0.05, -0.03, 0.02);
        let k = Vec3::new(1.7, -0.6, 0.8);
        let goal = start + (g - y0).component_mul(k);
        let out = p.rollout(start, goal, 0);
        for (a, b) in out.iter().zip(&same) {
            let expect = start + (*b - y0).component_mul(k);
            assert!((*a - expect).norm() < 1e-9, "{:?} vs {:?}", a, expect);
        }
    }

    #[test]
    fn leading_a_moving_goal_by_the_ramp_lag_cancels_the_lag() {
        let ys: Vec<Vec3> = (0..60)
            .map(|k| Vec3::new(0.01 * k as f64, 0.0, 0.0))
            .collect();
        let p = PositionDmp::fit(&ys, &DmpConfig::default()).unwrap();
        let v = Vec3::new(0.0, 0.04, 0.0);
        let run = |lead: f64| {
            let mut s = PosState::at_rest(ys[0], ys[59]);
            let mut goal = ys[59];
            for _ in 0..400 {
                goal += v * p.timing.dt;
                s = position_step(&p, &s, ys[0], goal + v * lead);
            }
            (goal - s.y).norm()
        };
        // The continuous-time prediction holds within the discretisation error, and
        // leading by it removes most of the lag.
        let lag = run(0.0);
        let predicted = 0.04 * p.ramp_lag_time();
        assert!(
            (lag - predicted).abs() < 0.1 * predicted,
            "lag {lag} vs {predicted}"
        );
        let led = run(p.ramp_lag_time());
        assert!(led < 0.1 * lag, "lag with lead {led}");
    }

    #[test]
    fn robust_scaling_rotates_the_shape_with_the_goal_direction() {
        let mut rng = Rng::new(14);
        let ys = random_curve(&mut rng, 100);
        let p = PositionDmp::fit(&ys, &DmpConfig::default()).unwrap();
        let (y0, g) = (ys[0], ys[99]);
        let same = p.rollout(y0, g, 0);
        // Turn the goal about the vertical through y0, double its horizontal distance,
        // keep its height: the whole motion turns and stretches the same way.
        let q = Quat::from_yaw(1.3);
        let d = g - y0;
        let h = q.rotate(Vec3::new(d.x(), d.y(), 0.0)) * 2.0;
        let goal = y0 + Vec3::new(h.x(), h.y(), d.z());
        let out = p.rollout(y0, goal, 0);
        let r = scaling_matrix(Scaling::Robust, g - y0, goal - y0);
        for (a, b) in out.iter().zip(&same) {
            let expect = y0 + mat_vec(&r, *b - y0);
            assert!((*a - expect).norm() < 1e-9);
        }
        // Degenerate vectors fall back to the identity.
        assert_eq!(scaling_matrix(Scaling::Robust, Vec3::ZERO, goal), I3);
        let opp = scaling_matrix(
            Scaling::Robust,
            Vec3::new(1.0, 0.0, 0.0),
            Vec3::new(-2.0, 0.0, 0.0),
        );
        let v = mat_vec(&opp, Vec3::new(1.0, 0.0, 0.0));
        assert!((v - Vec3::new(-2.0, 0.0, 0.0)).norm() < 1e-12);
        let up = mat_vec(&opp, Vec3::new(0.0, 0.0, 1.0));
        assert!(
            (up - Vec3::new(0.0, 0.0, 1.0)).norm() < 1e-12,
            "the vertical is neither turned nor stretched: {up:?}"
        );
        // A purely vertical start-to-goal vector keeps the demo's forcing term.
        assert_eq!(
            scaling_matrix(
                Scaling::Robust,
                Vec3::new(0.0, 0.0, 0.2),
                Vec3::new(0.0, 0.0, 0.1)
            ),
            I3
        );
    }

    fn yaw_demo(n: usize, from: f64, to: f64) -> Vec<Pose> {
        let down = Quat([1.0, 0.0, 0.0, 0.0]);
        (0..n)
            .map(|k| {
                let s = k as f64 / (n - 1) as f64;
                let mj = s * s * s * (10.0 - 15.0 * s + 6.0 * s * s);
                let tilt = Quat::from_axis_angle(
                    Vec3::new(0.0, 1.0, 0.0),
                    0.2 * m::sin(std::f64::consts::PI * s),
                );
                Pose::new(
                    Vec3::new(0.4 + 0.1 * mj, 0.0, 0.2),
                    Quat::from_yaw(from + (to - from) * mj) * tilt * down,
                )
            })
            .collect()
    }

    #[test]
    fn orientation_reproduces_demo_and_reaches_goals_across_the_yaw_wrap() {
        let demo = yaw_demo(80, 2.6, 3.05);
        let model = PoseDmp::fit(&demo, &DmpConfig::default()).unwrap();
        let mut r = DmpRunner::new(model.clone(), demo[0], demo[79]);
        let mut worst: f64 = 0.0;
        for want in demo.iter().skip(1) {
            let got = r.step();
            worst = worst.max(got.quat.angle_to(want.quat));
        }
        assert!(worst < 0.01, "orientation reproduction error {worst}");
        // New goal on the other side of +-pi, given with a negative w.
        let down = Quat([1.0, 0.0, 0.0, 0.0]);
        let goal_q = Quat::from_yaw(-2.9) * down;
        let goal_q = Quat([-goal_q.0[0], -goal_q.0[1], -goal_q.0[2], -goal_q.0[3]]);
        let start = Pose::new(demo[0].pos, Quat::from_yaw(2.8) * down);
        let goal = Pose::new(demo[79].pos, goal_q);
        let mut r = DmpRunner::new(model, start, goal);
        let initial = start.quat.angle_to(goal_q);
        let mut prev = start.quat;
        let mut max_step: f64 = 0.0;
        while !r.is_done() {
            let q = r.step().quat;
            assert!(q.dot(prev) > 0.0, "sign flip at step {}", r.steps_taken());
            max_step = max_step.max(q.angle_to(prev));
            assert!(
                q.angle_to(goal_q) < initial + 0.35,
                "went the long way round"
            );
            prev = q;
        }
        assert!(
            prev.angle_to(goal_q) < 0.01,
            "final error {}",
            prev.angle_to(goal_q)
        );
        assert!(max_step < 0.2, "largest step {max_step} rad");
    }

    #[test]
    fn moving_goal_is_tracked_with_bounded_acceleration() {
        let mut rng = Rng::new(15);
        let ys = random_curve(&mut rng, 100);
        let poses: Vec<Pose> = ys
            .iter()
            .map(|y| Pose::new(*y, Quat([1.0, 0.0, 0.0, 0.0])))
            .collect();
        let cfg = DmpConfig {
            settle_steps: 60,
            ..DmpConfig::default()
        };
        let model = PoseDmp::fit(&poses, &cfg).unwrap();
        let dt = cfg.dt;
        let acc = |path: &[Vec3]| {
            path.windows(3)
                .map(|w| ((w[2] - w[1]) - (w[1] - w[0])).norm() / (dt * dt))
                .fold(0.0, f64::max)
        };
        let mut still = DmpRunner::new(model.clone(), poses[0], poses[99]);
        let mut p_still = vec![poses[0].pos];
        while !still.is_done() {
            p_still.push(still.step().pos);
        }
        let mut goal = poses[99];
        let mut r = DmpRunner::new(model.clone(), poses[0], goal);
        let mut path = vec![poses[0].pos];
        let v = Vec3::new(0.0, 0.10, 0.0); // 10 cm/s
        while !r.is_done() {
            if r.steps_taken() < 50 {
                goal.pos += v * dt;
                r.set_goal(goal);
            }
            if r.steps_taken() == 60 {
                assert_eq!(r.planned_path(5).len(), 5);
            }
            path.push(r.step().pos);
        }
        let end = *path.last().unwrap();
        assert!(
            (end - goal.pos).norm() < 1e-3,
            "moving goal missed by {}",
            (end - goal.pos).norm()
        );
        let (a_still, a_moving) = (acc(&p_still), acc(&path));
        assert!(
            a_moving < 1.5 * a_still + 0.5,
            "acceleration {a_moving} vs {a_still}"
        );
        // A goal jump of 10 cm is also absorbed with bounded acceleration.
        let mut r = DmpRunner::new(model, poses[0], poses[99]);
        let mut path = vec![poses[0].pos];
        while !r.is_done() {
            if r.steps_taken() == 30 {
                r.set_goal(Pose::new(
                    poses[99].pos + Vec3::new(0.1, 0.0, 0.0),
                    poses[99].quat,
                ));
            }
            path.push(r.step().pos);
        }
        assert!(
            acc(&path) < a_still + 3.0,
            "jump acceleration {}",
            acc(&path)
        );
    }

    #[test]
    fn a_moving_goal_is_tracked_with_every_goal_filter_gain() {
        // Position and orientation goals both move during the first half of the segment;
        // with alpha_g 0 (no filter), 10 (the default) and 1000 (the largest allowed)
        // the rollout stays finite and ends on the moved goal.
        let mut rng = Rng::new(16);
        let ys = random_curve(&mut rng, 80);
        let down = Quat([1.0, 0.0, 0.0, 0.0]);
        let poses: Vec<Pose> = ys.iter().map(|y| Pose::new(*y, down)).collect();
        for alpha_g in [0.0, 10.0, 1000.0] {
            let cfg = DmpConfig {
                alpha_g,
                settle_steps: 60,
                ..DmpConfig::default()
            };
            let model = PoseDmp::fit(&poses, &cfg).unwrap();
            let mut goal = poses[79];
            let mut r = DmpRunner::new(model, poses[0], goal);
            let v = Vec3::new(0.05, -0.05, 0.0); // about 7 cm/s
            let w = 0.4; // rad/s of yaw
            let mut worst = 0.0f64;
            while !r.is_done() {
                if r.steps_taken() < 40 {
                    goal = Pose::new(
                        goal.pos + v * cfg.dt,
                        Quat::from_yaw(w * cfg.dt) * goal.quat,
                    );
                    r.set_goal(goal);
                }
                let p = r.step();
                assert!(p.is_finite(), "alpha_g {alpha_g}: diverged");
                worst = worst.max((p.pos - goal.pos).norm());
                if alpha_g == 0.0 {
                    // No filter: the system is pulled to the live target itself.
                    let f = r.filtered_goal();
                    assert_eq!(f.pos, goal.pos);
                    assert!(f.quat.angle_to(goal.quat) < 1e-12);
                }
            }
            assert!(worst < 1.0, "alpha_g {alpha_g}: strayed {worst} m");
            let end = r.pose();
            assert!(
                (end.pos - goal.pos).norm() < 2e-3,
                "alpha_g {alpha_g}: position missed by {}",
                (end.pos - goal.pos).norm()
            );
            assert!(
                end.quat.angle_to(goal.quat) < 0.01,
                "alpha_g {alpha_g}: orientation missed by {}",
                end.quat.angle_to(goal.quat)
            );
        }
        // The exact discretisation: every gain moves the goal part of the way, never past.
        for alpha_g in [0.5, 10.0, 100.0, 1000.0] {
            let k = goal_filter_gain(alpha_g, 0.05, 1.0);
            assert!(k > 0.0 && k < 1.0 + 1e-12, "gain {k}");
        }
        assert_eq!(goal_filter_gain(0.0, 0.05, 1.0), 1.0);
    }

    #[test]
    fn a_runner_entered_moving_continues_the_motion() {
        // A segment cut out of a continuous motion, fitted with the velocity it was
        // entered with: a runner started with that velocity reproduces it from the first
        // step; one started at rest lags at first.
        let n = 60;
        let demo: Vec<Pose> = (0..n + 1)
            .map(|k| {
                let t = k as f64 * 0.05;
                Pose::new(
                    Vec3::new(0.4 + 0.1 * t, 0.05 * m::sin(t), 0.2 - 0.02 * t * t),
                    Quat::from_yaw(0.2 * t) * Quat([1.0, 0.0, 0.0, 0.0]),
                )
            })
            .collect();
        let seg = &demo[1..];
        let cfg = DmpConfig::default();
        let model = PoseDmp::fit_entered(seg, Some(&demo[0]), &cfg).unwrap();
        let v = PoseVelocity::between(&demo[0], &seg[0], cfg.dt);
        let mut moving = DmpRunner::moving(model.clone(), seg[0], seg[n - 1], v);
        let mut rest = DmpRunner::new(model, seg[0], seg[n - 1]);
        let (m1, r1) = (moving.step(), rest.step());
        assert!(
            (m1.pos - seg[1].pos).norm() < 2e-4,
            "{:?}",
            m1.pos - seg[1].pos
        );
        assert!(m1.quat.angle_to(seg[1].quat) < 2e-3);
        assert!(
            (r1.pos - seg[1].pos).norm() > 2e-3,
            "at rest it starts slower"
        );
        let mut worst = 0.0f64;
        for p in &seg[2..] {
            worst = worst.max((moving.step().pos - p.pos).norm());
        }
        assert!(worst < 2e-3, "reproduction error {worst}");
    }

    #[test]
    fn robust_scaling_is_continuous_through_the_small_distance_zone() {
        // A goal sweeping past the start (through the zone where the direction of the
        // horizontal start-goal vector is noise) and far beyond the stretch limit: the
        // scaling matrix never jumps between neighbouring goals.
        let demo = Vec3::new(0.1, 0.05, -0.1);
        let entry = |a: &Mat3, b: &Mat3| {
            (0..3)
                .flat_map(|i| (0..3).map(move |j| (i, j)))
                .map(|(i, j)| (a[i][j] - b[i][j]).abs())
                .fold(0.0, f64::max)
        };
        let mut prev = scaling_matrix(Scaling::Robust, demo, Vec3::new(-0.05, 0.003, -0.1));
        let steps = 40000;
        for k in 1..=steps {
            let x = -0.05 + 0.6 * k as f64 / steps as f64;
            let m3 = scaling_matrix(Scaling::Robust, demo, Vec3::new(x, 0.003, -0.1));
            assert!(entry(&m3, &prev) < 0.02, "jump at x = {x}");
            prev = m3;
        }
        assert_eq!(robust_weight(0.001), 0.0);
        assert_eq!(robust_weight(0.05), 1.0);
        assert!((robust_log_stretch(m::ln(1.7)) - m::ln(1.7)).abs() < 1e-12);
        assert!(robust_log_stretch(m::ln(100.0)) < m::ln(ROBUST_MAX_STRETCH));
    }

    #[test]
    fn planned_path_matches_future_steps_and_reset_restarts() {
        let demo = yaw_demo(60, 0.0, 1.0);
        let model = PoseDmp::fit(&demo, &DmpConfig::default()).unwrap();
        let mut r = DmpRunner::new(model, demo[0], demo[59]);
        for _ in 0..10 {
            r.step();
        }
        let plan = r.planned_path(20);
        let real: Vec<Pose> = (0..20).map(|_| r.step()).collect();
        assert_eq!(plan, real);
        r.reset(demo[0]);
        assert_eq!(r.steps_taken(), 0);
        assert_eq!(r.pose(), demo[0]);
        assert_eq!(r.remaining_path().len(), 59);
    }

    #[test]
    fn short_segments_use_substeps_and_stay_stable() {
        let ys: Vec<Vec3> = (0..8)
            .map(|k| Vec3::new(0.01 * k as f64, 0.0, 0.1))
            .collect();
        let p = PositionDmp::fit(&ys, &DmpConfig::default()).unwrap();
        assert!(p.timing.substeps > 1);
        let out = p.rollout(ys[0], ys[7], 0);
        assert!(rms(&out, &ys) < 1e-3);
        let out = p.rollout(ys[0], Vec3::new(0.2, 0.1, 0.1), 40);
        assert!(out.iter().all(|y| y.is_finite() && y.norm() < 1.0));
        assert!((out[out.len() - 1] - Vec3::new(0.2, 0.1, 0.1)).norm() < 1e-3);
    }

    #[test]
    fn short_orientation_segments_are_reproduced() {
        let demo = yaw_demo(9, 0.3, 1.2);
        let model = PoseDmp::fit(&demo, &DmpConfig::default()).unwrap();
        assert!(model.ori.timing.substeps > 1);
        let mut r = DmpRunner::new(model, demo[0], demo[8]);
        for want in demo.iter().skip(1) {
            let got = r.step();
            assert!(
                got.quat.angle_to(want.quat) < 0.01,
                "{}",
                got.quat.angle_to(want.quat)
            );
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            PositionDmp::fit(&[Vec3::ZERO; 2], &DmpConfig::default()),
            Err(DmpError::TooShort { samples: 2 })
        );
        let mut ys = vec![Vec3::ZERO; 10];
        ys[4] = Vec3::new(f64::NAN, 0.0, 0.0);
        assert_eq!(
            PositionDmp::fit(&ys, &DmpConfig::default()),
            Err(DmpError::NonFinite { index: 4 })
        );
        let cfg = DmpConfig {
            n_bases: 0,
            ..DmpConfig::default()
        };
        assert!(matches!(
            PositionDmp::fit(&[Vec3::ZERO; 10], &cfg),
            Err(DmpError::BadConfig(_))
        ));
    }
}

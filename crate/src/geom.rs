//! Small f64 geometry: vectors, unit quaternions and rigid poses.
//!
//! Conventions (used everywhere in the crate and in every file format):
//! - positions in metres, right-handed world frame, z up, table surface at z = 0;
//! - quaternions stored as `[x, y, z, w]` (robomimic order), unit norm;
//! - a [`Pose`] maps points from its local frame to its parent frame:
//!   `p_parent = pos + rot * p_local`.
//!
//! All transcendental functions go through [`m`], which calls `libm`. The
//! platform `f64::sin` & co. differ in the last bits between native and wasm32,
//! which would break the "same config, same bytes" guarantee.

use serde::{Deserialize, Serialize};
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

/// The Cholesky factor `L` (lower triangular, `a = L L^T`) of a symmetric positive
/// definite `N x N` matrix, or `None` if `a` is not positive definite.
// Dense matrix arithmetic: the indices are the notation.
#[allow(clippy::needless_range_loop)]
pub fn cholesky<const N: usize>(a: &[[f64; N]; N]) -> Option<[[f64; N]; N]> {
    let mut l = [[0.0; N]; N];
    for i in 0..N {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solves `L L^T x = b` for the factor `l` of [`cholesky`].
#[allow(clippy::needless_range_loop)]
pub fn cholesky_solve<const N: usize>(l: &[[f64; N]; N], b: &[f64; N]) -> [f64; N] {
    let mut y = [0.0; N];
    for i in 0..N {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i][k] * y[k];
        }
        y[i] = s / l[i][i];
    }
    let mut x = [0.0; N];
    for i in (0..N).rev() {
        let mut s = y[i];
        for k in i + 1..N {
            s -= l[k][i] * x[k];
        }
        x[i] = s / l[i][i];
    }
    x
}

/// Deterministic math: identical results natively and in wasm32.
pub mod m {
    #[inline]
    pub fn sin(x: f64) -> f64 {
        libm::sin(x)
    }
    #[inline]
    pub fn cos(x: f64) -> f64 {
        libm::cos(x)
    }
    #[inline]
    pub fn acos(x: f64) -> f64 {
        libm::acos(x.clamp(-1.0, 1.0))
    }
    #[inline]
    pub fn atan2(y: f64, x: f64) -> f64 {
        libm::atan2(y, x)
    }
    #[inline]
    pub fn exp(x: f64) -> f64 {
        libm::exp(x)
    }
    #[inline]
    pub fn ln(x: f64) -> f64 {
        libm::log(x)
    }
    /// `tanh` through [`exp`] (`1 - 2 / (exp(2x) + 1)`, exact to a few ulp for the
    /// arguments used here): libm's own `tanh` would add its `expm1` to the browser module.
    #[inline]
    pub fn tanh(x: f64) -> f64 {
        if x > 20.0 {
            return 1.0;
        }
        if x < -20.0 {
            return -1.0;
        }
        1.0 - 2.0 / (exp(2.0 * x) + 1.0)
    }
    #[inline]
    pub fn powf(x: f64, y: f64) -> f64 {
        libm::pow(x, y)
    }
    /// `sqrt` is correctly rounded by IEEE 754 on every platform.
    #[inline]
    pub fn sqrt(x: f64) -> f64 {
        x.sqrt()
    }
}

/// A 3-vector, serialised as `[x, y, z]`.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Vec3(pub [f64; 3]);

impl Vec3 {
    pub const ZERO: Vec3 = Vec3([0.0; 3]);
    #[inline]
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Vec3([x, y, z])
    }
    #[inline]
    pub fn x(&self) -> f64 {
        self.0[0]
    }
    #[inline]
    pub fn y(&self) -> f64 {
        self.0[1]
    }
    #[inline]
    pub fn z(&self) -> f64 {
        self.0[2]
    }
    #[inline]
    pub fn dot(&self, o: Vec3) -> f64 {
        self.0[0] * o.0[0] + self.0[1] * o.0[1] + self.0[2] * o.0[2]
    }
    #[inline]
    pub fn cross(&self, o: Vec3) -> Vec3 {
        let (a, b) = (self.0, o.0);
        Vec3([
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ])
    }
    #[inline]
    pub fn norm(&self) -> f64 {
        m::sqrt(self.dot(*self))
    }
    /// Unit vector, or zero when the norm is below 1e-300.
    pub fn normalized(&self) -> Vec3 {
        let n = self.norm();
        if n > 1e-300 {
            *self * (1.0 / n)
        } else {
            Vec3::ZERO
        }
    }
    pub fn is_finite(&self) -> bool {
        self.0.iter().all(|v| v.is_finite())
    }
    pub fn lerp(&self, o: Vec3, t: f64) -> Vec3 {
        *self + (o - *self) * t
    }
    pub fn component_mul(&self, o: Vec3) -> Vec3 {
        Vec3([self.0[0] * o.0[0], self.0[1] * o.0[1], self.0[2] * o.0[2]])
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    #[inline]
    fn add(self, o: Vec3) -> Vec3 {
        Vec3([self.0[0] + o.0[0], self.0[1] + o.0[1], self.0[2] + o.0[2]])
    }
}
impl AddAssign for Vec3 {
    #[inline]
    fn add_assign(&mut self, o: Vec3) {
        *self = *self + o;
    }
}
impl Sub for Vec3 {
    type Output = Vec3;
    #[inline]
    fn sub(self, o: Vec3) -> Vec3 {
        Vec3([self.0[0] - o.0[0], self.0[1] - o.0[1], self.0[2] - o.0[2]])
    }
}
impl SubAssign for Vec3 {
    #[inline]
    fn sub_assign(&mut self, o: Vec3) {
        *self = *self - o;
    }
}
impl Mul<f64> for Vec3 {
    type Output = Vec3;
    #[inline]
    fn mul(self, s: f64) -> Vec3 {
        Vec3([self.0[0] * s, self.0[1] * s, self.0[2] * s])
    }
}
impl Neg for Vec3 {
    type Output = Vec3;
    #[inline]
    fn neg(self) -> Vec3 {
        Vec3([-self.0[0], -self.0[1], -self.0[2]])
    }
}

/// A unit quaternion stored `[x, y, z, w]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quat(pub [f64; 4]);

impl Default for Quat {
    fn default() -> Self {
        Quat::IDENTITY
    }
}

impl Quat {
    pub const IDENTITY: Quat = Quat([0.0, 0.0, 0.0, 1.0]);

    #[inline]
    pub fn w(&self) -> f64 {
        self.0[3]
    }
    #[inline]
    pub fn vec(&self) -> Vec3 {
        Vec3([self.0[0], self.0[1], self.0[2]])
    }
    #[inline]
    pub fn from_parts(w: f64, v: Vec3) -> Quat {
        Quat([v.0[0], v.0[1], v.0[2], w])
    }
    pub fn norm(&self) -> f64 {
        let q = self.0;
        m::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    }
    /// Unit quaternion; identity if the norm is degenerate.
    pub fn normalized(&self) -> Quat {
        let n = self.norm();
        if n > 1e-300 && n.is_finite() {
            let s = 1.0 / n;
            Quat([self.0[0] * s, self.0[1] * s, self.0[2] * s, self.0[3] * s])
        } else {
            Quat::IDENTITY
        }
    }
    pub fn is_finite(&self) -> bool {
        self.0.iter().all(|v| v.is_finite())
    }
    #[inline]
    pub fn conj(&self) -> Quat {
        Quat([-self.0[0], -self.0[1], -self.0[2], self.0[3]])
    }
    #[inline]
    pub fn dot(&self, o: Quat) -> f64 {
        self.0[0] * o.0[0] + self.0[1] * o.0[1] + self.0[2] * o.0[2] + self.0[3] * o.0[3]
    }
    /// The same rotation with `w >= 0` (canonical hemisphere).
    pub fn canonical(&self) -> Quat {
        if self.0[3] < 0.0 {
            Quat([-self.0[0], -self.0[1], -self.0[2], -self.0[3]])
        } else {
            *self
        }
    }
    /// `self` or `-self`, whichever is closer to `reference` (avoids sign flips in series).
    pub fn aligned_with(&self, reference: Quat) -> Quat {
        if self.dot(reference) < 0.0 {
            Quat([-self.0[0], -self.0[1], -self.0[2], -self.0[3]])
        } else {
            *self
        }
    }
    pub fn from_axis_angle(axis: Vec3, angle: f64) -> Quat {
        let a = axis.normalized();
        let h = 0.5 * angle;
        Quat::from_parts(m::cos(h), a * m::sin(h))
    }
    /// Rotation about world z.
    pub fn from_yaw(yaw: f64) -> Quat {
        Quat::from_axis_angle(Vec3::new(0.0, 0.0, 1.0), yaw)
    }
    /// Quaternion exponential of the pure quaternion `(0, v)`: a rotation by `2|v|` about `v`.
    pub fn exp(v: Vec3) -> Quat {
        let n = v.norm();
        if n < 1e-12 {
            Quat::from_parts(1.0, v).normalized()
        } else {
            Quat::from_parts(m::cos(n), v * (m::sin(n) / n))
        }
    }
    /// Quaternion logarithm of a unit quaternion: the vector `v` with `exp(v) = self`
    /// (half the rotation vector). Uses the shortest arc (`w >= 0`).
    pub fn log(&self) -> Vec3 {
        let q = self.canonical();
        let v = q.vec();
        let n = v.norm();
        if n < 1e-12 {
            return v;
        }
        let angle = m::atan2(n, q.w());
        v * (angle / n)
    }
    /// Rotation vector (axis * angle, angle in [0, pi]).
    pub fn to_rotvec(&self) -> Vec3 {
        self.log() * 2.0
    }
    /// The rotation vector of this rotation nearest to `prev`: of its representatives
    /// `axis * (angle + 2 pi k)` (k any integer, so the axis may also flip), the one
    /// closest to `prev`. A sequence of orientations converted with the previous result
    /// as `prev` has continuous rotation vectors, with no jump of 2 pi where the angle
    /// passes pi (a gripper pointing down sits right there).
    pub fn to_rotvec_near(&self, prev: Vec3) -> Vec3 {
        let r = self.to_rotvec();
        let angle = r.norm();
        if angle < 1e-12 || !prev.is_finite() {
            return r;
        }
        let axis = r * (1.0 / angle);
        let tau = 2.0 * std::f64::consts::PI;
        // The nearest representative on the line through `axis` has the angle closest to
        // prev's projection on it.
        let along = prev.dot(axis);
        let k = ((along - angle) / tau).round();
        axis * (angle + tau * k)
    }
    pub fn from_rotvec(r: Vec3) -> Quat {
        Quat::exp(r * 0.5)
    }
    /// Rotate a vector.
    pub fn rotate(&self, v: Vec3) -> Vec3 {
        let u = self.vec();
        let w = self.w();
        let t = u.cross(v) * 2.0;
        v + t * w + u.cross(t)
    }
    /// Angle of the relative rotation between two orientations, in [0, pi].
    pub fn angle_to(&self, o: Quat) -> f64 {
        (*self * o.conj()).to_rotvec().norm()
    }
    /// Spherical interpolation along the shortest arc.
    pub fn slerp(&self, o: Quat, t: f64) -> Quat {
        let o = o.aligned_with(*self);
        let rel = self.conj() * o;
        (*self * Quat::exp(rel.log() * t)).normalized()
    }
    /// Row-major 3x3 rotation matrix.
    pub fn to_mat3(&self) -> [[f64; 3]; 3] {
        let [x, y, z, w] = self.0;
        [
            [
                1.0 - 2.0 * (y * y + z * z),
                2.0 * (x * y - z * w),
                2.0 * (x * z + y * w),
            ],
            [
                2.0 * (x * y + z * w),
                1.0 - 2.0 * (x * x + z * z),
                2.0 * (y * z - x * w),
            ],
            [
                2.0 * (x * z - y * w),
                2.0 * (y * z + x * w),
                1.0 - 2.0 * (x * x + y * y),
            ],
        ]
    }
    /// From a row-major rotation matrix (Shepperd's method), normalised.
    pub fn from_mat3(r: &[[f64; 3]; 3]) -> Quat {
        let tr = r[0][0] + r[1][1] + r[2][2];
        let q = if tr > 0.0 {
            let s = m::sqrt(tr + 1.0) * 2.0;
            [
                (r[2][1] - r[1][2]) / s,
                (r[0][2] - r[2][0]) / s,
                (r[1][0] - r[0][1]) / s,
                0.25 * s,
            ]
        } else if r[0][0] > r[1][1] && r[0][0] > r[2][2] {
            let s = m::sqrt(1.0 + r[0][0] - r[1][1] - r[2][2]) * 2.0;
            [
                0.25 * s,
                (r[0][1] + r[1][0]) / s,
                (r[0][2] + r[2][0]) / s,
                (r[2][1] - r[1][2]) / s,
            ]
        } else if r[1][1] > r[2][2] {
            let s = m::sqrt(1.0 + r[1][1] - r[0][0] - r[2][2]) * 2.0;
            [
                (r[0][1] + r[1][0]) / s,
                0.25 * s,
                (r[1][2] + r[2][1]) / s,
                (r[0][2] - r[2][0]) / s,
            ]
        } else {
            let s = m::sqrt(1.0 + r[2][2] - r[0][0] - r[1][1]) * 2.0;
            [
                (r[0][2] + r[2][0]) / s,
                (r[1][2] + r[2][1]) / s,
                0.25 * s,
                (r[1][0] - r[0][1]) / s,
            ]
        };
        Quat(q).normalized().canonical()
    }
    /// Yaw (rotation about world z) of the frame's x axis projected on the xy plane.
    pub fn yaw(&self) -> f64 {
        let x = self.rotate(Vec3::new(1.0, 0.0, 0.0));
        m::atan2(x.y(), x.x())
    }
}

impl Mul for Quat {
    type Output = Quat;
    /// Hamilton product: `(a * b)` applies `b` first, then `a`.
    #[inline]
    fn mul(self, b: Quat) -> Quat {
        let [ax, ay, az, aw] = self.0;
        let [bx, by, bz, bw] = b.0;
        Quat([
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ])
    }
}

/// A rigid transform (position + unit quaternion), serialised as
/// `{"pos": [x, y, z], "quat": [x, y, z, w]}`.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Pose {
    pub pos: Vec3,
    pub quat: Quat,
}

impl Pose {
    pub const IDENTITY: Pose = Pose {
        pos: Vec3::ZERO,
        quat: Quat::IDENTITY,
    };
    pub fn new(pos: Vec3, quat: Quat) -> Pose {
        Pose { pos, quat }
    }
    pub fn from_pos(pos: Vec3) -> Pose {
        Pose {
            pos,
            quat: Quat::IDENTITY,
        }
    }
    /// `self * o`: first `o`, then `self` (frame composition).
    pub fn compose(&self, o: &Pose) -> Pose {
        Pose {
            pos: self.pos + self.quat.rotate(o.pos),
            quat: (self.quat * o.quat).normalized(),
        }
    }
    pub fn inverse(&self) -> Pose {
        let qi = self.quat.conj();
        Pose {
            pos: -qi.rotate(self.pos),
            quat: qi,
        }
    }
    pub fn transform_point(&self, p: Vec3) -> Vec3 {
        self.pos + self.quat.rotate(p)
    }
    /// Pose of `self` expressed in `frame`: `inv(frame) * self`.
    pub fn relative_to(&self, frame: &Pose) -> Pose {
        frame.inverse().compose(self)
    }
    pub fn is_finite(&self) -> bool {
        self.pos.is_finite() && self.quat.is_finite()
    }
    /// Homogeneous 4x4 matrix, row-major.
    pub fn to_mat4(&self) -> [[f64; 4]; 4] {
        let r = self.quat.to_mat3();
        let p = self.pos.0;
        [
            [r[0][0], r[0][1], r[0][2], p[0]],
            [r[1][0], r[1][1], r[1][2], p[1]],
            [r[2][0], r[2][1], r[2][2], p[2]],
            [0.0, 0.0, 0.0, 1.0],
        ]
    }
    /// From a homogeneous 4x4 matrix, row-major (the rotation block is re-orthonormalised
    /// through the quaternion).
    pub fn from_mat4(t: &[[f64; 4]; 4]) -> Pose {
        let r = [
            [t[0][0], t[0][1], t[0][2]],
            [t[1][0], t[1][1], t[1][2]],
            [t[2][0], t[2][1], t[2][2]],
        ];
        Pose {
            pos: Vec3([t[0][3], t[1][3], t[2][3]]),
            quat: Quat::from_mat3(&r),
        }
    }
    /// Interpolate (linear position, slerp orientation).
    pub fn interpolate(&self, o: &Pose, t: f64) -> Pose {
        Pose {
            pos: self.pos.lerp(o.pos, t),
            quat: self.quat.slerp(o.quat, t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn quaternion_log_exp_roundtrip() {
        let q = Quat::from_axis_angle(Vec3::new(0.3, -0.5, 0.8), 2.5);
        let back = Quat::exp(q.log());
        assert!(back.angle_to(q) < 1e-12);
        let rv = q.to_rotvec();
        assert!(close(rv.norm(), 2.5, 1e-12));
    }

    #[test]
    fn rotation_vectors_near_the_previous_one_are_continuous_across_pi() {
        // A gripper pointing down (half a turn about x) that yaws slowly back and forth:
        // the canonical rotation vector flips sign, the continuous one never jumps.
        let down = Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI);
        let mut prev = down.to_rotvec();
        let mut canonical_jumps = 0;
        let mut last_canonical = prev;
        for k in 0..400 {
            let yaw = 0.3 * m::sin(k as f64 * 0.05) + 0.01;
            let tilt =
                Quat::from_axis_angle(Vec3::new(0.0, 1.0, 0.0), 0.2 * m::sin(k as f64 * 0.07));
            let q = Quat::from_yaw(yaw) * tilt * down;
            let r = q.to_rotvec_near(prev);
            assert!((r - prev).norm() < 0.05, "step {k}: {:?} -> {:?}", prev, r);
            assert!(Quat::from_rotvec(r).angle_to(q) < 1e-9, "same rotation");
            let c = q.to_rotvec();
            if (c - last_canonical).norm() > 3.0 {
                canonical_jumps += 1;
            }
            last_canonical = c;
            prev = r;
        }
        assert!(canonical_jumps > 0, "the test must cross the flip");
    }

    #[test]
    fn matrix_roundtrip_and_rotation() {
        let p = Pose::new(
            Vec3::new(0.1, -0.2, 0.3),
            Quat::from_axis_angle(Vec3::new(1.0, 2.0, 3.0), -1.1),
        );
        let back = Pose::from_mat4(&p.to_mat4());
        assert!((back.pos - p.pos).norm() < 1e-14);
        assert!(back.quat.angle_to(p.quat) < 1e-9);
        let v = Vec3::new(0.4, 0.5, -0.6);
        let r = p.quat.to_mat3();
        let mv = Vec3([
            r[0][0] * v.0[0] + r[0][1] * v.0[1] + r[0][2] * v.0[2],
            r[1][0] * v.0[0] + r[1][1] * v.0[1] + r[1][2] * v.0[2],
            r[2][0] * v.0[0] + r[2][1] * v.0[1] + r[2][2] * v.0[2],
        ]);
        assert!((mv - p.quat.rotate(v)).norm() < 1e-14);
    }

    #[test]
    fn compose_inverse_is_identity() {
        let a = Pose::new(Vec3::new(1.0, 2.0, 3.0), Quat::from_yaw(0.7));
        let b = Pose::new(
            Vec3::new(-0.5, 0.2, 0.1),
            Quat::from_axis_angle(Vec3::new(0.0, 1.0, 0.0), 0.4),
        );
        let rel = b.relative_to(&a);
        let back = a.compose(&rel);
        assert!((back.pos - b.pos).norm() < 1e-12);
        assert!(back.quat.angle_to(b.quat) < 1e-9);
    }

    #[test]
    fn slerp_takes_shortest_arc_across_sign_flip() {
        let a = Quat::from_yaw(3.0);
        let b = Quat::from_yaw(-3.0);
        let mid = a.slerp(b, 0.5);
        // Shortest arc passes through yaw = pi, not yaw = 0.
        assert!(close(mid.yaw().abs(), std::f64::consts::PI, 1e-9));
    }
}

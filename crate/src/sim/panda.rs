//! A Franka-Panda-like 7-DoF arm: kinematic model, limits, link masses and
//! the geometry shared by the physics world and the renderer.
//!
//! Kinematics follow the modified (Craig) Denavit-Hartenberg convention
//! published by Franka Emika: the frame of joint `i` is
//! `T(i-1, i) = RotX(alpha_i) * TransX(a_i) * RotZ(q_i) * TransZ(d_i)`, the
//! flange sits 0.107 m along joint 7's z axis, the hand is turned by -45 deg
//! about it and the end-effector (tool centre point between the finger pads)
//! is 0.1034 m further along z. The arm base frame is the world frame (base at
//! the origin, z up), so the end-effector z axis points down at the table in the
//! home configuration.
//!
//! Everything here is a pure function of the joint vector `q` (7 values, rad):
//! [`fk`], [`link_frames`] and [`jacobian`] are used by the IK and by tests.

use crate::geom::{Pose, Quat, Vec3};

/// A 3x3 rotation matrix, row-major.
pub type Mat3 = [[f64; 3]; 3];

/// Number of arm joints.
pub const DOF: usize = 7;

/// Modified DH parameters `(a, d, sin(alpha), cos(alpha))` of joints 1..7 (m).
/// `alpha` is one of 0, +-pi/2, so its sine and cosine are stored exactly.
pub const MDH: [(f64, f64, f64, f64); DOF] = [
    (0.0, 0.333, 0.0, 1.0),
    (0.0, 0.0, -1.0, 0.0),
    (0.0, 0.316, 1.0, 0.0),
    (0.0825, 0.0, 1.0, 0.0),
    (-0.0825, 0.384, -1.0, 0.0),
    (0.0, 0.0, 1.0, 0.0),
    (0.088, 0.0, 1.0, 0.0),
];

/// Distance from joint 7's frame to the flange along its z axis (m).
pub const FLANGE_OFFSET: f64 = 0.107;
/// Distance from the flange to the tool centre point between the pads (m).
pub const TCP_OFFSET: f64 = 0.1034;
/// The hand is mounted turned by this angle about the flange z axis (rad).
pub const HAND_YAW: f64 = -std::f64::consts::FRAC_PI_4;

/// Lower joint limits (rad).
pub const Q_MIN: [f64; DOF] = [
    -2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973,
];
/// Upper joint limits (rad).
pub const Q_MAX: [f64; DOF] = [2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973];
/// Joint velocity limits (rad/s).
pub const QD_MAX: [f64; DOF] = [2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61];
/// Joint torque limits (N m).
pub const TAU_MAX: [f64; DOF] = [87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0];

/// Home configuration: gripper pointing straight down about 0.3 m above the
/// table at x ~ 0.45 m, elbow up, wrist well inside its limits.
pub const Q_HOME: [f64; DOF] = [
    0.0,
    -0.12,
    0.0,
    -2.3,
    0.0,
    2.18,
    std::f64::consts::FRAC_PI_4,
];

/// Link masses (kg) of links 1..7 (link 7 includes the hand), close to the
/// published Panda values.
pub const LINK_MASS: [f64; DOF] = [4.97, 0.65, 3.23, 3.59, 1.23, 1.67, 1.47];
/// Centres of mass in each link frame (m).
pub const LINK_COM: [[f64; 3]; DOF] = [
    [0.0039, 0.0021, -0.175],
    [-0.0031, -0.0287, 0.0035],
    [0.0275, 0.0393, -0.0665],
    [-0.0532, 0.1044, 0.0275],
    [-0.0120, 0.0411, -0.0384],
    [0.0601, -0.0141, -0.0105],
    [0.0050, -0.0020, 0.1000],
];
/// Principal moments of inertia about the centre of mass, link axes (kg m^2).
pub const LINK_INERTIA: [[f64; 3]; DOF] = [
    [0.0250, 0.0250, 0.0090],
    [0.0080, 0.0030, 0.0080],
    [0.0150, 0.0150, 0.0060],
    [0.0180, 0.0080, 0.0180],
    [0.0200, 0.0200, 0.0040],
    [0.0030, 0.0050, 0.0050],
    [0.0060, 0.0060, 0.0030],
];

/// Finger travel: each finger moves from 0 (closed) to this distance from the
/// centre line (m), so the opening ranges over 0..0.08 m.
pub const FINGER_TRAVEL: f64 = 0.04;
/// Mass of one finger (kg) and its principal inertia about its centre of mass (kg m^2).
pub const FINGER_MASS: f64 = 0.015;
pub const FINGER_INERTIA: [f64; 3] = [2e-6, 2e-6, 1e-6];
/// Finger box half extents in the hand frame (x: pad width, y: thickness,
/// z: length) (m).
pub const FINGER_HALF: [f64; 3] = [0.011, 0.006, 0.026];
/// Finger box centre height in the end-effector frame: the tip sits 6 mm beyond
/// the tool centre point (m).
pub const FINGER_CENTER_Z: f64 = 0.006 - 0.026;
/// Hand housing half extents in the hand frame and its centre height above the flange (m).
pub const HAND_HALF: [f64; 3] = [0.025, 0.1, 0.028];
/// Mass of the hand alone (kg; Franka's datasheet: 0.73 kg), for arms that simulate it
/// as its own body, and a principal inertia (kg m^2) of about a box of its size.
pub const HAND_MASS: f64 = 0.73;
pub const HAND_INERTIA: [f64; 3] = [2.6e-3, 2.6e-3, 0.4e-3];
pub const HAND_CENTER_Z: f64 = 0.03;

/// A segment of the arm's outline (capsule), in a link frame: `(link, p0, p1, radius)`,
/// `link` 0 being the fixed base. Used for colliders and drawing.
pub const LINK_CAPSULES: [(usize, [f64; 3], [f64; 3], f64); 11] = [
    (1, [0.0, 0.0, -0.19], [0.0, 0.0, -0.02], 0.06),
    (2, [0.0, 0.0, 0.0], [0.0, -0.2, 0.0], 0.06),
    (3, [0.0, 0.0, -0.12], [0.0, 0.0, 0.0], 0.055),
    (3, [0.0, 0.0, 0.0], [0.0825, 0.0, 0.0], 0.055),
    (4, [0.0, 0.0, 0.0], [-0.0825, 0.0, 0.0], 0.055),
    (4, [-0.0825, 0.04, 0.0], [-0.0825, 0.22, 0.0], 0.05),
    (5, [0.0, 0.0, -0.17], [0.0, 0.0, -0.06], 0.045),
    (5, [0.0, 0.0, -0.04], [0.0, 0.0, 0.03], 0.05),
    (6, [0.0, 0.0, 0.0], [0.088, 0.0, 0.0], 0.045),
    (7, [0.0, 0.0, -0.04], [0.0, 0.0, 0.06], 0.04),
    (0, [0.0, 0.0, 0.05], [0.0, 0.0, 0.15], 0.07),
];

#[inline]
pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut r = [[0.0; 3]; 3];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    r
}

#[inline]
pub fn mat_vec(a: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [
        a[0][0] * v[0] + a[0][1] * v[1] + a[0][2] * v[2],
        a[1][0] * v[0] + a[1][1] * v[1] + a[1][2] * v[2],
        a[2][0] * v[0] + a[2][1] * v[1] + a[2][2] * v[2],
    ]
}

/// A rigid frame as rotation matrix + origin (fast form used inside the kinematics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    pub rot: Mat3,
    pub pos: [f64; 3],
}

impl Frame {
    pub const IDENTITY: Frame = Frame {
        rot: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        pos: [0.0; 3],
    };

    /// `self * other`.
    #[inline]
    pub fn mul(&self, o: &Frame) -> Frame {
        let p = mat_vec(&self.rot, o.pos);
        Frame {
            rot: mat_mul(&self.rot, &o.rot),
            pos: [p[0] + self.pos[0], p[1] + self.pos[1], p[2] + self.pos[2]],
        }
    }

    pub fn to_pose(&self) -> Pose {
        Pose::new(Vec3(self.pos), Quat::from_mat3(&self.rot))
    }

    pub fn from_pose(p: &Pose) -> Frame {
        Frame {
            rot: p.quat.to_mat3(),
            pos: p.pos.0,
        }
    }

    /// The frame's z axis.
    #[inline]
    pub fn z_axis(&self) -> [f64; 3] {
        [self.rot[0][2], self.rot[1][2], self.rot[2][2]]
    }
}

/// Transform from joint `i`'s parent frame to its frame for angle `q`
/// (`i` in 0..7 indexes [`MDH`]).
#[inline]
pub fn joint_transform(i: usize, q: f64) -> Frame {
    let (a, d, sa, ca) = MDH[i];
    let (s, c) = (crate::geom::m::sin(q), crate::geom::m::cos(q));
    Frame {
        rot: [[c, -s, 0.0], [ca * s, ca * c, -sa], [sa * s, sa * c, ca]],
        pos: [a, -sa * d, ca * d],
    }
}

/// Transform from link 7's frame to the end-effector frame.
pub fn link7_to_eef() -> Frame {
    let h = HAND_YAW;
    let (s, c) = (crate::geom::m::sin(h), crate::geom::m::cos(h));
    Frame {
        rot: [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
        pos: [0.0, 0.0, FLANGE_OFFSET + TCP_OFFSET],
    }
}

/// World frames of links 1..7 (indices 0..6) and of the end-effector (index 7).
pub fn link_frames(q: &[f64; DOF]) -> [Frame; DOF + 1] {
    let mut out = [Frame::IDENTITY; DOF + 1];
    let mut t = Frame::IDENTITY;
    for (i, qi) in q.iter().enumerate() {
        t = t.mul(&joint_transform(i, *qi));
        out[i] = t;
    }
    out[DOF] = t.mul(&link7_to_eef());
    out
}

/// Forward kinematics: end-effector pose in the world frame.
pub fn fk(q: &[f64; DOF]) -> Pose {
    link_frames(q)[DOF].to_pose()
}

/// Geometric Jacobian of the end-effector (rows: linear velocity x, y, z, then
/// angular velocity x, y, z, world frame; columns: joints 1..7), together with the
/// end-effector frame it was computed at.
pub fn jacobian(q: &[f64; DOF]) -> ([[f64; DOF]; 6], Frame) {
    let frames = link_frames(q);
    let pe = frames[DOF].pos;
    let mut j = [[0.0; DOF]; 6];
    for i in 0..DOF {
        let z = frames[i].z_axis();
        let o = frames[i].pos;
        let r = [pe[0] - o[0], pe[1] - o[1], pe[2] - o[2]];
        let v = [
            z[1] * r[2] - z[2] * r[1],
            z[2] * r[0] - z[0] * r[2],
            z[0] * r[1] - z[1] * r[0],
        ];
        for k in 0..3 {
            j[k][i] = v[k];
            j[k + 3][i] = z[k];
        }
    }
    (j, frames[DOF])
}

/// A joint-space matrix of the arm (rows and columns: joints 1..7).
pub type JointMatrix = [[f64; DOF]; DOF];

/// The arm's joint-space inertia matrix `M(q)` (kg m^2, kg m for mixed terms) with the
/// fingers held `finger` (m) from the centre line: the links' masses, centres of mass
/// and inertias ([`LINK_MASS`], [`LINK_COM`], [`LINK_INERTIA`]; link 7 carries the
/// hand) and the two fingers as parts of link 7, exactly as the multibody arm is built.
/// `M = sum_k m_k Jv_k^T Jv_k + Jw_k^T I_k Jw_k` over the bodies `k`, with `Jv_k` the
/// Jacobian of body `k`'s centre of mass and `Jw_k` of its angular velocity.
pub fn mass_matrix(q: &[f64; DOF], finger: f64) -> JointMatrix {
    let frames = link_frames(q);
    let axes: [[f64; 3]; DOF] = std::array::from_fn(|i| frames[i].z_axis());
    let mut m = [[0.0; DOF]; DOF];
    // One body: its mass, world centre of mass, world inertia about it, and the last
    // joint that moves it.
    let mut add = |mass: f64, com: [f64; 3], inertia: Mat3, last: usize| {
        let mut jv = [[0.0; 3]; DOF];
        for j in 0..=last {
            let o = frames[j].pos;
            jv[j] = cross(axes[j], [com[0] - o[0], com[1] - o[1], com[2] - o[2]]);
        }
        for a in 0..=last {
            let iwa = mat_vec(&inertia, axes[a]);
            for b in 0..=a {
                let v = mass * dot(jv[a], jv[b]) + dot(axes[b], iwa);
                m[a][b] += v;
                if a != b {
                    m[b][a] += v;
                }
            }
        }
    };
    for k in 0..DOF {
        let f = &frames[k];
        let c = mat_vec(&f.rot, LINK_COM[k]);
        let d = LINK_INERTIA[k];
        let local = [[d[0], 0.0, 0.0], [0.0, d[1], 0.0], [0.0, 0.0, d[2]]];
        let world = mat_mul(&mat_mul(&f.rot, &local), &transpose(&f.rot));
        add(
            LINK_MASS[k],
            [f.pos[0] + c[0], f.pos[1] + c[1], f.pos[2] + c[2]],
            world,
            k,
        );
    }
    let eef = &frames[DOF];
    for side in [1.0, -1.0] {
        let local = [0.0, side * (finger + FINGER_HALF[1]), FINGER_CENTER_Z];
        let c = mat_vec(&eef.rot, local);
        let d = FINGER_INERTIA;
        let inertia = [[d[0], 0.0, 0.0], [0.0, d[1], 0.0], [0.0, 0.0, d[2]]];
        let world = mat_mul(&mat_mul(&eef.rot, &inertia), &transpose(&eef.rot));
        add(
            FINGER_MASS,
            [eef.pos[0] + c[0], eef.pos[1] + c[1], eef.pos[2] + c[2]],
            world,
            DOF - 1,
        );
    }
    m
}

/// The inverse of a symmetric positive definite joint-space matrix (Cholesky), or
/// `None` if it is not positive definite.
pub fn spd_inverse(m: &JointMatrix) -> Option<JointMatrix> {
    let l = crate::geom::cholesky(m)?;
    let mut inv = [[0.0; DOF]; DOF];
    for c in 0..DOF {
        let e: [f64; DOF] = std::array::from_fn(|i| if i == c { 1.0 } else { 0.0 });
        let x = crate::geom::cholesky_solve(&l, &e);
        for (row, xi) in inv.iter_mut().zip(x) {
            row[c] = xi;
        }
    }
    Some(inv)
}

#[inline]
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[inline]
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
fn transpose(a: &Mat3) -> Mat3 {
    std::array::from_fn(|i| std::array::from_fn(|j| a[j][i]))
}

/// Whether `q` lies inside the joint limits (inclusive).
pub fn within_limits(q: &[f64; DOF]) -> bool {
    (0..DOF).all(|i| q[i] >= Q_MIN[i] && q[i] <= Q_MAX[i])
}

/// The end-effector orientation pointing straight down with its x axis at `yaw`
/// (rad) about world z: the canonical top-down grasp orientation.
pub fn down_orientation(yaw: f64) -> Quat {
    Quat::from_yaw(yaw) * Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_configuration_matches_published_geometry() {
        // At q = 0 the Panda stands straight up: the flange is at
        // x = 0.088, z = 0.333 + 0.316 + 0.384 - 0.107 and points down.
        let p = fk(&[0.0; DOF]);
        assert!((p.pos.x() - 0.088).abs() < 1e-12, "{:?}", p.pos);
        assert!(p.pos.y().abs() < 1e-12);
        let z_expected = 0.333 + 0.316 + 0.384 - FLANGE_OFFSET - TCP_OFFSET;
        assert!((p.pos.z() - z_expected).abs() < 1e-12, "{:?}", p.pos);
        let z_axis = p.quat.rotate(Vec3::new(0.0, 0.0, 1.0));
        assert!((z_axis.z() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn home_points_down_above_the_table() {
        assert!(within_limits(&Q_HOME));
        let p = fk(&Q_HOME);
        let z_axis = p.quat.rotate(Vec3::new(0.0, 0.0, 1.0));
        assert!(z_axis.z() < -0.999, "z axis {z_axis:?}");
        assert!(p.pos.x() > 0.35 && p.pos.x() < 0.55, "{:?}", p.pos);
        assert!(p.pos.z() > 0.2 && p.pos.z() < 0.4, "{:?}", p.pos);
    }

    #[test]
    fn jacobian_matches_finite_differences() {
        let q = [0.3, -0.4, 0.2, -2.0, 0.5, 1.9, 0.1];
        let (j, f0) = jacobian(&q);
        let p0 = fk(&q);
        let h = 1e-6;
        for i in 0..DOF {
            let mut qh = q;
            qh[i] += h;
            let ph = fk(&qh);
            let dp = (ph.pos - p0.pos) * (1.0 / h);
            let dr = (ph.quat * p0.quat.conj()).to_rotvec() * (1.0 / h);
            for k in 0..3 {
                assert!((dp.0[k] - j[k][i]).abs() < 1e-5, "lin {i} {k}");
                assert!((dr.0[k] - j[k + 3][i]).abs() < 1e-5, "ang {i} {k}");
            }
        }
        assert!((Vec3(f0.pos) - p0.pos).norm() < 1e-12);
    }
}

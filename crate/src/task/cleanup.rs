//! Mug Cleanup (MimicGen's `MugCleanup`): open the drawer of a cabinet, put the mug in
//! it, close the drawer.
//!
//! The cabinet is a fixed object; the drawer slides in it on a prismatic joint
//! ([`SlideJoint`]) and moves only by physics: the hand hooks its handle (a bar on two
//! standoffs, 5 cm in front of the drawer's face) with the fingers open and pulls, and
//! later pushes the bar back. Frames: the cabinet's origin is its bottom centre, its
//! drawer opens along the cabinet's -y; the drawer's origin is its bottom centre.
//!
//! Resets follow MimicGen's `MugCleanup_D0` / `_D1` (`envs/robosuite/mug_cleanup.py`),
//! offsets applied around [`super::RESET_CENTRE`] as for the other tasks: D0 has the
//! drawer at (0, 0.3) and the mug at x in [-0.15, 0.15], y in [-0.25, -0.10], any yaw;
//! D1 moves the cabinet to x in [-0.15, 0.05], y in [0.25, 0.35], yaw within +-30 degrees,
//! and the mug to x in [-0.25, 0.15], y in [-0.30, -0.15].

use super::{
    around_centre, camera_at, cuboid, part, ObjectReset, ObjectSpec, PartShape, SlideJoint,
    SubtaskKind, SubtaskSpec, SuccessSpec, Task, PI,
};
use crate::geom::{Pose, Vec3};

/// Cabinet outer half width (x) and half depth (y), its height (m).
pub const CABINET_HALF: [f64; 2] = [0.15, 0.13];
pub const CABINET_HEIGHT: f64 = 0.18;
/// The drawer's pose in the cabinet when closed: its bottom 1.5 cm above the cabinet's.
pub const DRAWER_ORIGIN: [f64; 3] = [0.0, -0.01, 0.015];
/// Drawer outer half width and half depth (m, without the front panel), wall height.
pub const DRAWER_HALF: [f64; 2] = [0.125, 0.11];
pub const DRAWER_WALL_TOP: f64 = 0.08;
/// Drawer travel (m).
pub const DRAWER_TRAVEL: f64 = 0.16;
/// How far the built-in demo's hand pulls the handle (m); the drawer opens about
/// 1.5 cm less (the fingers start in the middle of the gap behind the bar).
pub const PULL_DISTANCE: f64 = 0.15;
/// The handle bar's centre in the drawer's frame and its half length along x (m).
pub const HANDLE: [f64; 3] = [0.0, -0.188, 0.07];
pub const HANDLE_HALF_LENGTH: f64 = 0.085;
/// Half thickness of the handle bar (m).
pub const HANDLE_HALF: f64 = 0.008;
/// The drawer front panel's outer face (drawer frame y, m).
pub const DRAWER_FACE_Y: f64 = -0.13;
/// Mug body radius and half height (m). The mug has no handle: with one, the hand's
/// turn at the place is fixed by how the mug was picked, and for about a fifth of the
/// resets the Panda's last wrist joint reaches its limit on the way (measured: 14 of 60
/// static D-MG attempts failed so, against none without it).
pub const MUG_RADIUS: f64 = 0.03;
pub const MUG_HALF_HEIGHT: f64 = 0.04;
/// Half width and half depth of the mug's square foot (m), which sticks out
/// `MUG_FOOT_DEPTH` below the body: the mug's origin rests `MUG_REST_Z` above what it
/// stands on.
pub const MUG_FOOT: f64 = 0.028;
pub const MUG_FOOT_DEPTH: f64 = 0.003;
pub const MUG_REST_Z: f64 = MUG_HALF_HEIGHT + MUG_FOOT_DEPTH;

fn cabinet() -> ObjectSpec {
    let [hx, hy] = CABINET_HALF;
    let wall = 0.01;
    let inner_h = 0.5 * (CABINET_HEIGHT - 0.01 - 2.0 * wall);
    ObjectSpec {
        name: "cabinet".into(),
        parts: vec![
            // Bottom board, top (its front edge 1 cm behind the face), back, two sides.
            part(cuboid(hx, hy, 0.005), 0.0, 0.0, 0.005),
            part(
                cuboid(hx, hy - 0.005, wall),
                0.0,
                0.005,
                CABINET_HEIGHT - wall,
            ),
            part(cuboid(hx, wall, inner_h), 0.0, hy - wall, 0.01 + inner_h),
            part(cuboid(wall, hy, inner_h), hx - wall, 0.0, 0.01 + inner_h),
            part(cuboid(wall, hy, inner_h), -hx + wall, 0.0, 0.01 + inner_h),
        ],
        mass: 20.0,
        friction: 0.8,
        color: [140, 100, 70, 255],
        fixed: true,
        joint: None,
    }
}

fn drawer() -> ObjectSpec {
    let [hx, hy] = DRAWER_HALF;
    let wall_h = 0.5 * (DRAWER_WALL_TOP - 0.01);
    let wall_z = 0.01 + wall_h;
    let [bx, by, bz] = HANDLE;
    let standoff_half = 0.5 * (DRAWER_FACE_Y - (by + HANDLE_HALF)).abs();
    ObjectSpec {
        name: "drawer".into(),
        parts: vec![
            part(cuboid(hx, hy, 0.005), 0.0, 0.0, 0.005),
            part(cuboid(hx, 0.005, wall_h), 0.0, hy - 0.005, wall_z),
            part(cuboid(0.005, hy, wall_h), hx - 0.005, 0.0, wall_z),
            part(cuboid(0.005, hy, wall_h), -hx + 0.005, 0.0, wall_z),
            // Front panel: closes the cabinet's face.
            part(cuboid(hx, 0.01, 0.07), 0.0, DRAWER_FACE_Y + 0.01, 0.07),
            // Handle: two standoffs and the bar.
            part(
                cuboid(HANDLE_HALF, standoff_half, HANDLE_HALF),
                bx + 0.075,
                DRAWER_FACE_Y - standoff_half,
                bz,
            ),
            part(
                cuboid(HANDLE_HALF, standoff_half, HANDLE_HALF),
                bx - 0.075,
                DRAWER_FACE_Y - standoff_half,
                bz,
            ),
            part(
                cuboid(HANDLE_HALF_LENGTH, HANDLE_HALF, HANDLE_HALF),
                bx,
                by,
                bz,
            ),
        ],
        mass: 1.0,
        friction: 0.8,
        color: [190, 150, 105, 255],
        fixed: false,
        joint: Some(SlideJoint {
            parent: "cabinet".into(),
            origin: Pose::from_pos(Vec3::new(
                DRAWER_ORIGIN[0],
                DRAWER_ORIGIN[1],
                DRAWER_ORIGIN[2],
            )),
            axis: Vec3::new(0.0, -1.0, 0.0),
            range: [0.0, DRAWER_TRAVEL],
            damping: 200.0,
            friction: 3.0,
        }),
    }
}

fn mug() -> ObjectSpec {
    ObjectSpec {
        name: "mug".into(),
        parts: vec![
            part(
                PartShape::Cylinder {
                    half_height: MUG_HALF_HEIGHT,
                    radius: MUG_RADIUS,
                },
                0.0,
                0.0,
                0.0,
            ),
            // A flat foot: a cylinder resting on its rim rocks in the solver.
            part(
                cuboid(MUG_FOOT, MUG_FOOT, MUG_FOOT_DEPTH),
                0.0,
                0.0,
                -MUG_HALF_HEIGHT,
            ),
        ],
        mass: 0.2,
        friction: 0.9,
        color: [70, 120, 190, 255],
        fixed: false,
        joint: None,
    }
}

fn subtask(name: &str, object: &str, kind: SubtaskKind) -> SubtaskSpec {
    SubtaskSpec {
        name: name.into(),
        object: object.into(),
        kind,
    }
}

/// The task at MimicGen's D0 reset.
pub fn mug_cleanup() -> Task {
    let cab = ObjectReset {
        x: [0.5, 0.5],
        y: [0.3, 0.3],
        yaw: [0.0, 0.0],
        z: 0.0,
    };
    Task {
        id: "mug_cleanup".into(),
        description: "Open the drawer, put the mug in it and close the drawer.".into(),
        objects: vec![mug(), drawer(), cabinet()],
        fixtures: vec![],
        reset: vec![
            around_centre([-0.15, 0.15], [-0.25, -0.1], [-PI, PI], MUG_REST_Z),
            // The drawer starts closed in the cabinet: its own draw is unused.
            cab.clone(),
            cab,
        ],
        min_gap: 0.05,
        subtasks: vec![
            subtask("open_drawer", "drawer", SubtaskKind::Pull),
            subtask("grasp_mug", "mug", SubtaskKind::Grasp),
            subtask("place_in_drawer", "drawer", SubtaskKind::Place),
            subtask("close_drawer", "drawer", SubtaskKind::Push),
        ],
        success: SuccessSpec::InClosedDrawer {
            object: "mug".into(),
            drawer: "drawer".into(),
            inner_half: [DRAWER_HALF[0] - 0.01, DRAWER_HALF[1] - 0.01],
            wall_top: DRAWER_WALL_TOP + 0.04,
            closed_tol: 0.01,
        },
        hold_time: 0.25,
        horizon: 30.0,
        camera: camera_at(Vec3::new(1.45, -0.95, 0.9), Vec3::new(0.5, 0.05, 0.08)),
    }
}

/// MimicGen's `MugCleanup_D1` ranges for this task's objects.
pub fn mug_cleanup_d1(task: &Task) -> Vec<ObjectReset> {
    let cab = around_centre([-0.15, 0.05], [0.25, 0.35], [-PI / 6.0, PI / 6.0], 0.0);
    let z = task.reset.first().map_or(MUG_REST_Z, |r| r.z);
    vec![
        around_centre([-0.25, 0.15], [-0.3, -0.15], [-PI, PI], z),
        cab.clone(),
        cab,
    ]
}

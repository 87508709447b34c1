//! The layout of the `object` observation key: what robosuite's `object-state` holds.
//!
//! Layout 2 (written since `dmgen_obs_layout` exists) follows robosuite 1.4, the version
//! MimicGen and D-MG train on, where the task exists there; a low-dim policy trained by
//! robomimic on these files sees the relative vectors that define the task, not only
//! absolute poses:
//!
//! | task | columns |
//! | --- | --- |
//! | lift | `cube_pos`, `cube_quat`, `gripper_to_cube_pos` (hand minus cube, robosuite 1.4's sign) |
//! | stack | `cubeA_pos`, `cubeA_quat`, `cubeB_pos`, `cubeB_quat`, `gripper_to_cubeA` (cube A minus hand), `gripper_to_cubeB`, `cubeA_to_cubeB` (B minus A) |
//! | square | `nut_pos`, `nut_quat`, `nut_to_robot0_eef_pos`, `nut_to_robot0_eef_quat` (the nut's pose in the hand's frame), `peg_pos` (MimicGen's `peg1_pos`: the peg moves at D1 and D2) |
//! | mug_cleanup | `mug_pos`, `mug_quat`, `mug_to_robot0_eef_pos`, `mug_to_robot0_eef_quat`, the same four of `drawer`, `drawer_joint_pos` (MimicGen's MugCleanup; the fixed cabinet is left out) |
//! | pick_place | `can_pos`, `can_quat`, `can_to_robot0_eef_pos`, `can_to_robot0_eef_quat` (robosuite's PickPlaceCan), `bin_pos` |
//! | any other | per object: `<o>_pos`, `<o>_quat`, `<o>_to_robot0_eef_pos`, `<o>_to_robot0_eef_quat` (robosuite's pattern for NutAssembly and PickPlace); a jointed object adds `<o>_joint_pos`; a fixed one only `<o>_pos`, `<o>_quat` |
//!
//! Positions in metres in the world frame, quaternions `x y z w`; "in the hand's frame"
//! is robosuite's `pose_in_A_to_pose_in_B(object, world_pose_in_gripper)`:
//! `R_eef^T (p_o - p_eef)` and `R_eef^T R_o`. A joint position is the opening of the
//! object's slide joint (m, 0 closed).
//!
//! Layout 1 (files without `dmgen_obs_layout`): every object's `pos`, `quat`, in order.

use crate::geom::Pose;
#[cfg(test)]
use crate::geom::Vec3;
use crate::task::{StateColumn, StateValue, Task};
use serde::Serialize;

/// The `object` layout written now.
pub const OBJECT_LAYOUT: u32 = 2;

#[derive(Clone, Debug, PartialEq, Serialize)]
enum Column {
    Pos(usize),
    Quat(usize),
    /// Hand position minus the object's.
    EefMinus(usize),
    /// The object's position minus the hand's.
    MinusEef(usize),
    /// `b`'s position minus `a`'s.
    Diff(usize, usize),
    /// The object's position and rotation in the hand's frame.
    InEefPos(usize),
    InEefQuat(usize),
    /// Opening of the object's slide joint: the joint and the parent's index.
    Joint(usize, usize),
}

impl Column {
    fn width(&self) -> usize {
        match self {
            Column::Quat(_) | Column::InEefQuat(_) => 4,
            Column::Joint(..) => 1,
            _ => 3,
        }
    }
}

/// The columns of one task's `object` key in one layout.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectLayout {
    pub version: u32,
    columns: Vec<(String, Column)>,
    joints: Vec<Option<crate::task::SlideJoint>>,
}

impl ObjectLayout {
    /// Layout 1: every object's position and quaternion (`n` objects).
    pub fn poses(n: usize) -> ObjectLayout {
        let mut columns = Vec::with_capacity(2 * n);
        for o in 0..n {
            columns.push((format!("object{o}_pos"), Column::Pos(o)));
            columns.push((format!("object{o}_quat"), Column::Quat(o)));
        }
        ObjectLayout {
            version: 1,
            columns,
            joints: vec![None; n],
        }
    }

    /// Layout `version` (1 or 2) of `task`.
    pub fn for_task(task: &Task, version: u32) -> ObjectLayout {
        if version < 2 {
            let mut l = ObjectLayout::poses(task.objects.len());
            for (c, o) in l
                .columns
                .iter_mut()
                .zip(task.objects.iter().flat_map(|o| [o, o]))
            {
                let suffix = if matches!(c.1, Column::Pos(_)) {
                    "pos"
                } else {
                    "quat"
                };
                c.0 = format!("{}_{suffix}", o.name);
            }
            return l;
        }
        let idx = |name: &str| task.object_index(name).ok();
        let mut v: Vec<(String, Column)> = Vec::new();
        let columns = if task.object_state.is_empty() {
            default_columns(task)
        } else {
            task.object_state.clone()
        };
        for c in &columns {
            let col = match &c.value {
                StateValue::Pos { object } => idx(object).map(Column::Pos),
                StateValue::Quat { object } => idx(object).map(Column::Quat),
                StateValue::HandMinus { object } => idx(object).map(Column::EefMinus),
                StateValue::MinusHand { object } => idx(object).map(Column::MinusEef),
                StateValue::Diff { from, to } => {
                    idx(from).zip(idx(to)).map(|(a, b)| Column::Diff(a, b))
                }
                StateValue::InHandPos { object } => idx(object).map(Column::InEefPos),
                StateValue::InHandQuat { object } => idx(object).map(Column::InEefQuat),
                StateValue::Joint { object } => idx(object).and_then(|i| {
                    let j = task.objects[i].joint.as_ref()?;
                    Some(Column::Joint(i, idx(&j.parent)?))
                }),
            };
            // A task file's columns are checked when it is read; a column naming no
            // object (a task built in code) is left out.
            if let Some(col) = col {
                v.push((c.name.clone(), col));
            }
        }
        ObjectLayout {
            version: 2,
            columns: v,
            joints: task.objects.iter().map(|o| o.joint.clone()).collect(),
        }
    }

    /// Values per step.
    pub fn width(&self) -> usize {
        self.columns.iter().map(|(_, c)| c.width()).sum()
    }

    /// `(name, width)` of every column group, in order (the file's `dmgen_object_columns`).
    pub fn columns(&self) -> Vec<(String, usize)> {
        self.columns
            .iter()
            .map(|(n, c)| (n.clone(), c.width()))
            .collect()
    }

    /// Hand one step's values to `emit`, in order: hand pose `eef` and object poses
    /// `objects` (unit quaternions).
    pub fn push(&self, eef: &Pose, objects: &[Pose], mut emit: impl FnMut(&[f64])) {
        let inv = eef.quat.conj();
        for (_, c) in &self.columns {
            match *c {
                Column::Pos(i) => emit(&objects[i].pos.0),
                Column::Quat(i) => emit(&objects[i].quat.0),
                Column::EefMinus(i) => emit(&(eef.pos - objects[i].pos).0),
                Column::MinusEef(i) => emit(&(objects[i].pos - eef.pos).0),
                Column::Diff(a, b) => emit(&(objects[b].pos - objects[a].pos).0),
                Column::InEefPos(i) => emit(&inv.rotate(objects[i].pos - eef.pos).0),
                Column::InEefQuat(i) => emit(&(inv * objects[i].quat).normalized().0),
                Column::Joint(i, p) => {
                    let q = self.joints[i]
                        .as_ref()
                        .map_or(0.0, |j| j.opening(&objects[p], &objects[i]));
                    emit(&[q]);
                }
            }
        }
    }
}

/// The default `object` columns of a task whose file lists none: per object
/// `<o>_pos`, `<o>_quat`, `<o>_to_robot0_eef_pos`, `<o>_to_robot0_eef_quat` (robosuite's
/// pattern for NutAssembly and PickPlace); a jointed object adds `<o>_joint_pos`; a fixed
/// one has only `<o>_pos`, `<o>_quat`.
pub fn default_columns(task: &Task) -> Vec<StateColumn> {
    let mut v = Vec::new();
    let col = |name: String, value: StateValue| StateColumn { name, value };
    for o in &task.objects {
        let n = || o.name.clone();
        v.push(col(
            format!("{}_pos", o.name),
            StateValue::Pos { object: n() },
        ));
        v.push(col(
            format!("{}_quat", o.name),
            StateValue::Quat { object: n() },
        ));
        if o.fixed {
            continue;
        }
        v.push(col(
            format!("{}_to_robot0_eef_pos", o.name),
            StateValue::InHandPos { object: n() },
        ));
        v.push(col(
            format!("{}_to_robot0_eef_quat", o.name),
            StateValue::InHandQuat { object: n() },
        ));
        if o.joint.is_some() {
            v.push(col(
                format!("{}_joint_pos", o.name),
                StateValue::Joint { object: n() },
            ));
        }
    }
    v
}

/// A vector's components (tests).
#[cfg(test)]
fn v3(p: Vec3) -> [f64; 3] {
    p.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::Quat;

    fn layout(task: &str) -> ObjectLayout {
        ObjectLayout::for_task(&Task::by_id(task).unwrap(), OBJECT_LAYOUT)
    }

    #[test]
    fn widths_match_robosuite_and_mimicgen() {
        assert_eq!(layout("lift").width(), 10);
        assert_eq!(layout("stack").width(), 23);
        assert_eq!(layout("square").width(), 17, "MimicGen's Square D1/D2");
        assert_eq!(layout("mug_cleanup").width(), 29, "MimicGen's MugCleanup");
        assert_eq!(layout("pick_place").width(), 17);
        assert_eq!(layout("conveyor").width(), 28);
        for t in crate::task::TASK_IDS {
            let task = Task::by_id(t).unwrap();
            assert_eq!(
                ObjectLayout::for_task(&task, 1).width(),
                7 * task.objects.len()
            );
        }
    }

    #[test]
    fn relative_columns_have_robosuites_signs_and_frames() {
        let l = layout("stack");
        let eef = Pose::new(
            Vec3::new(0.5, 0.0, 0.3),
            Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI),
        );
        let a = Pose::from_pos(Vec3::new(0.6, 0.1, 0.02));
        let b = Pose::from_pos(Vec3::new(0.4, -0.1, 0.025));
        let mut v = Vec::new();
        l.push(&eef, &[a, b], |x| v.extend_from_slice(x));
        assert_eq!(&v[14..17], &v3(a.pos - eef.pos));
        assert_eq!(&v[20..23], &v3(b.pos - a.pos));
        // Square: the nut in the hand's frame. The hand points down (x kept, y and z
        // flipped), so a nut 10 cm below the hand is 10 cm along the hand's z.
        let sq = layout("square");
        let nut = Pose::from_pos(Vec3::new(0.5, 0.0, 0.2));
        let mut w = Vec::new();
        sq.push(&eef, &[nut, b], |x| w.extend_from_slice(x));
        assert!(
            (w[7] - 0.0).abs() < 1e-12 && (w[9] - 0.1).abs() < 1e-12,
            "{w:?}"
        );
        assert_eq!(sq.columns()[2].0, "nut_to_robot0_eef_pos");
    }
}

//! Checks of a task read from a file: every problem is reported with the field it is in
//! (`objects[1] (cubeB).mass`) and what is wrong, never a panic.
//!
//! What is checked: the format version, identifiers and names (unique, referenced names
//! exist), every number finite and within a physical range (sizes 1 mm to 1 m, masses
//! above zero, friction 0-2), reset ranges ordered and on the table, every level listing
//! one reset per object, joints between a fixed parent and a free child, the subtask
//! outline and success predicates naming objects that exist, the observation columns, the
//! scripted demonstration's phases, and that the objects can be placed apart at reset
//! (an object that starts inside another is refused).

use super::{
    GeometryVariant, GoalSpec, ObjectReset, ObjectSpec, Part, PartShape, ResetLevel, SubtaskKind,
    SuccessSpec, Task, TaskError, TASK_FORMAT,
};
use crate::config::is_identifier;
use crate::geom::{Pose, Vec3};
use crate::rng::Rng;
use crate::sim::world::{TABLE_X, TABLE_Y};

/// Largest task file read (bytes).
pub const MAX_TASK_BYTES: usize = 1 << 20;
/// Most objects, fixtures, parts per body, subtasks and script phases a task may have.
pub const MAX_OBJECTS: usize = 16;
pub const MAX_PARTS: usize = 64;
pub const MAX_SUBTASKS: usize = 32;
pub const MAX_PHASES: usize = 256;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> TaskError {
    TaskError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn finite_in(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), TaskError> {
    if !v.is_finite() {
        return Err(invalid(field, format!("must be a finite number (got {v})")));
    }
    if v < lo || v > hi {
        return Err(invalid(field, format!("{v} is outside {lo}..={hi}")));
    }
    Ok(())
}

fn positive_up_to(field: &str, v: f64, hi: f64) -> Result<(), TaskError> {
    finite_in(field, v, 0.0, hi)?;
    if v <= 0.0 {
        return Err(invalid(field, format!("must be greater than 0 (got {v})")));
    }
    Ok(())
}

fn finite_vec(field: &str, v: &Vec3, bound: f64) -> Result<(), TaskError> {
    for (k, c) in v.0.iter().enumerate() {
        finite_in(&format!("{field}[{k}]"), *c, -bound, bound)?;
    }
    Ok(())
}

fn check_pose(field: &str, p: &Pose, bound: f64) -> Result<(), TaskError> {
    finite_vec(&format!("{field}.pos"), &p.pos, bound)?;
    let q = p.quat;
    if !q.is_finite() || (q.norm() - 1.0).abs() > 1e-6 {
        return Err(invalid(
            format!("{field}.quat"),
            format!(
                "must be a unit quaternion [x, y, z, w] (its norm is {})",
                q.norm()
            ),
        ));
    }
    Ok(())
}

fn check_name(field: &str, s: &str) -> Result<(), TaskError> {
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid(
            field,
            format!("'{s}' is not a name; use 1-64 characters from a-z, A-Z, 0-9 and _"),
        ));
    }
    Ok(())
}

fn check_parts(field: &str, parts: &[Part]) -> Result<(), TaskError> {
    if parts.is_empty() {
        return Err(invalid(field, "needs at least one part"));
    }
    if parts.len() > MAX_PARTS {
        return Err(invalid(
            field,
            format!("has {} parts; at most {MAX_PARTS}", parts.len()),
        ));
    }
    for (k, p) in parts.iter().enumerate() {
        let f = format!("{field}[{k}]");
        match &p.shape {
            PartShape::Cuboid { half_extents } => {
                for (a, v) in half_extents.0.iter().enumerate() {
                    finite_in(&format!("{f}.half_extents[{a}]"), *v, 0.0005, 1.0)?;
                }
            }
            PartShape::Cylinder {
                half_height,
                radius,
            } => {
                finite_in(&format!("{f}.half_height"), *half_height, 0.0005, 1.0)?;
                finite_in(&format!("{f}.radius"), *radius, 0.0005, 1.0)?;
            }
            PartShape::Sphere { radius } => {
                finite_in(&format!("{f}.radius"), *radius, 0.0005, 1.0)?;
            }
        }
        check_pose(&format!("{f}.offset"), &p.offset, 1.0)?;
    }
    Ok(())
}

/// The label of object `i` in field paths: `objects[1] (cubeB)`.
fn object_field(task: &Task, i: usize) -> String {
    match task.objects.get(i) {
        Some(o) => format!("objects[{i}] ({})", o.name),
        None => format!("objects[{i}]"),
    }
}

fn check_object(task: &Task, i: usize, o: &ObjectSpec) -> Result<(), TaskError> {
    let f = object_field(task, i);
    check_name(&format!("objects[{i}].name"), &o.name)?;
    if task.objects[..i].iter().any(|p| p.name == o.name) {
        return Err(invalid(
            format!("objects[{i}].name"),
            format!("'{}' names two objects; object names must differ", o.name),
        ));
    }
    check_parts(&format!("{f}.parts"), &o.parts)?;
    positive_up_to(&format!("{f}.mass"), o.mass, 100.0)?;
    finite_in(&format!("{f}.friction"), o.friction, 0.0, 2.0)?;
    if let Some(j) = &o.joint {
        let jf = format!("{f}.joint");
        if o.fixed {
            return Err(invalid(
                format!("{f}.fixed"),
                "an object on a joint cannot also be fixed",
            ));
        }
        let Ok(p) = task.object_index(&j.parent) else {
            return Err(invalid(
                format!("{jf}.parent"),
                format!("no object is named '{}'", j.parent),
            ));
        };
        if p == i {
            return Err(invalid(
                format!("{jf}.parent"),
                "an object cannot slide in itself",
            ));
        }
        if !task.objects[p].fixed {
            return Err(invalid(
                format!("{jf}.parent"),
                format!(
                    "'{}' must be a fixed object (\"fixed\": true) to hold a joint",
                    j.parent
                ),
            ));
        }
        check_pose(&format!("{jf}.origin"), &j.origin, 1.0)?;
        finite_vec(&format!("{jf}.axis"), &j.axis, 10.0)?;
        if (j.axis.norm() - 1.0).abs() > 1e-6 {
            return Err(invalid(
                format!("{jf}.axis"),
                format!("must be a unit vector (its length is {})", j.axis.norm()),
            ));
        }
        finite_in(&format!("{jf}.range[0]"), j.range[0], 0.0, 0.0)?;
        positive_up_to(&format!("{jf}.range[1]"), j.range[1], 1.0)?;
        finite_in(&format!("{jf}.damping"), j.damping, 0.0, 10_000.0)?;
        finite_in(&format!("{jf}.friction"), j.friction, 0.0, 1_000.0)?;
    }
    Ok(())
}

fn check_resets(task: &Task, field: &str, resets: &[ObjectReset]) -> Result<(), TaskError> {
    if resets.len() != task.objects.len() {
        return Err(invalid(
            field,
            format!(
                "lists {} resets for {} objects; give one per object, in the objects' order",
                resets.len(),
                task.objects.len()
            ),
        ));
    }
    for (i, r) in resets.iter().enumerate() {
        let f = format!("{field}[{i}] ({})", task.objects[i].name);
        // A jointed object's own draw is unused (it starts closed in its parent).
        if task.objects[i].joint.is_some() {
            continue;
        }
        for (axis, range, table) in [("x", r.x, TABLE_X), ("y", r.y, TABLE_Y)] {
            for (k, v) in range.iter().enumerate() {
                finite_in(&format!("{f}.{axis}[{k}]"), *v, -10.0, 10.0)?;
            }
            if range[0] > range[1] {
                return Err(invalid(
                    format!("{f}.{axis}"),
                    format!(
                        "[{}, {}] is not a range: low above high",
                        range[0], range[1]
                    ),
                ));
            }
            if range[0] < table[0] || range[1] > table[1] {
                return Err(invalid(
                    format!("{f}.{axis}"),
                    format!(
                        "[{}, {}] reaches off the table, whose {axis} spans {}..{} m",
                        range[0], range[1], table[0], table[1]
                    ),
                ));
            }
        }
        let tau = 2.0 * std::f64::consts::PI;
        for (k, v) in r.yaw.iter().enumerate() {
            finite_in(&format!("{f}.yaw[{k}]"), *v, -tau, tau)?;
        }
        if r.yaw[0] > r.yaw[1] {
            return Err(invalid(
                format!("{f}.yaw"),
                format!(
                    "[{}, {}] is not a range: low above high",
                    r.yaw[0], r.yaw[1]
                ),
            ));
        }
        finite_in(&format!("{f}.z"), r.z, 0.0, 1.0)?;
        let depth = task.objects[i].bottom_depth();
        if r.z + 1e-6 < depth {
            return Err(invalid(
                format!("{f}.z"),
                format!(
                    "{} puts the object {:.4} m into the table; its bottom is {depth:.4} m below its origin",
                    r.z,
                    depth - r.z
                ),
            ));
        }
    }
    Ok(())
}

/// Objects that cannot be drawn apart: tries the task's own sampler with a fixed seed and
/// names the pair that overlapped most often.
fn check_placeable(task: &Task, field: &str) -> Result<(), TaskError> {
    let mut rng = Rng::new(0x7a5c);
    let n = task.objects.len();
    let mut clashes = vec![0u32; n * n];
    for _ in 0..200 {
        let poses = task.draw_once(&mut rng);
        match task.first_clash(&poses) {
            None => return Ok(()),
            Some((a, b)) => clashes[a * n + b] += 1,
        }
    }
    let k = (0..n * n).max_by_key(|&k| clashes[k]).unwrap_or(0);
    let (a, b) = (k / n, k % n);
    let name = |i: usize| task.objects.get(i).map_or("?", |o| o.name.as_str());
    Err(invalid(
        field,
        format!(
            "objects '{}' and '{}' start inside each other (or within min_gap) in every draw: \
             move their reset ranges apart or make them smaller",
            name(a),
            name(b)
        ),
    ))
}

fn check_predicate(
    task: &Task,
    field: &str,
    s: &SuccessSpec,
    depth: usize,
) -> Result<(), TaskError> {
    let obj = |f: &str, n: &str| -> Result<usize, TaskError> {
        task.object_index(n).map_err(|_| {
            invalid(
                format!("{field}.{f}"),
                format!(
                    "no object is named '{n}' (the task's objects: {})",
                    task.object_names().join(", ")
                ),
            )
        })
    };
    let tol = |f: &str, v: f64| positive_up_to(&format!("{field}.{f}"), v, 1.0);
    let distinct = |a: usize, b: usize, f: &str| {
        if a == b {
            Err(invalid(
                format!("{field}.{f}"),
                "names the same object twice",
            ))
        } else {
            Ok(())
        }
    };
    match s {
        SuccessSpec::Lifted {
            object,
            rest_z,
            height,
        } => {
            obj("object", object)?;
            finite_in(&format!("{field}.rest_z"), *rest_z, 0.0, 1.0)?;
            tol("height", *height)?;
        }
        SuccessSpec::Stacked {
            top,
            bottom,
            xy_tol,
        } => {
            let (t, b) = (obj("top", top)?, obj("bottom", bottom)?);
            distinct(t, b, "bottom")?;
            tol("xy_tol", *xy_tol)?;
        }
        SuccessSpec::OnPeg {
            nut,
            peg,
            xy_tol,
            max_z,
        } => {
            let (n, p) = (obj("nut", nut)?, obj("peg", peg)?);
            distinct(n, p, "peg")?;
            tol("xy_tol", *xy_tol)?;
            tol("max_z", *max_z)?;
        }
        SuccessSpec::InBin {
            object,
            bin,
            inner_half,
            wall_top,
        } => {
            let (o, b) = (obj("object", object)?, obj("bin", bin)?);
            distinct(o, b, "bin")?;
            tol("inner_half[0]", inner_half[0])?;
            tol("inner_half[1]", inner_half[1])?;
            tol("wall_top", *wall_top)?;
        }
        SuccessSpec::InClosedDrawer {
            object,
            drawer,
            inner_half,
            wall_top,
            closed_tol,
        } => {
            let (o, d) = (obj("object", object)?, obj("drawer", drawer)?);
            distinct(o, d, "drawer")?;
            if task.objects[d].joint.is_none() {
                return Err(invalid(
                    format!("{field}.drawer"),
                    format!("'{drawer}' has no joint; a drawer slides on one"),
                ));
            }
            tol("inner_half[0]", inner_half[0])?;
            tol("inner_half[1]", inner_half[1])?;
            tol("wall_top", *wall_top)?;
            finite_in(&format!("{field}.closed_tol"), *closed_tol, 0.0, 1.0)?;
        }
        SuccessSpec::Near {
            object,
            pos,
            tol: t,
        } => {
            obj("object", object)?;
            finite_vec(&format!("{field}.pos"), pos, 2.0)?;
            tol("tol", *t)?;
        }
        SuccessSpec::All { all } => {
            if all.is_empty() {
                return Err(invalid(
                    format!("{field}.all"),
                    "needs at least one predicate",
                ));
            }
            if depth >= 4 {
                return Err(invalid(field, "predicates nest at most 4 deep"));
            }
            for (k, p) in all.iter().enumerate() {
                check_predicate(task, &format!("{field}.all[{k}]"), p, depth + 1)?;
            }
        }
    }
    Ok(())
}

fn check_script(task: &Task) -> Result<(), TaskError> {
    if task.script.len() > MAX_PHASES {
        return Err(invalid(
            "script",
            format!("has {} phases; at most {MAX_PHASES}", task.script.len()),
        ));
    }
    let mut last = 0;
    for (k, p) in task.script.iter().enumerate() {
        let f = format!("script[{k}] ({})", p.name);
        if p.name.is_empty() || p.name.len() > 64 {
            return Err(invalid(
                format!("script[{k}].name"),
                "must be 1-64 characters",
            ));
        }
        if p.subtask >= task.subtasks.len() {
            return Err(invalid(
                format!("{f}.subtask"),
                format!(
                    "{} is not a subtask index (the task has {} subtasks)",
                    p.subtask,
                    task.subtasks.len()
                ),
            ));
        }
        if p.subtask < last {
            return Err(invalid(
                format!("{f}.subtask"),
                "phases must follow the subtask outline in order",
            ));
        }
        last = p.subtask;
        positive_up_to(&format!("{f}.duration"), p.duration, 60.0)?;
        let obj = |field: &str, n: &str| -> Result<usize, TaskError> {
            task.object_index(n).map_err(|_| {
                invalid(
                    format!("{f}.goal.{field}"),
                    format!("no object is named '{n}'"),
                )
            })
        };
        match &p.goal {
            GoalSpec::Hold => {}
            GoalSpec::AtGrasp { object, grasp, dz } => {
                obj("object", object)?;
                finite_vec(&format!("{f}.goal.grasp.local"), &grasp.local, 1.0)?;
                finite_in(&format!("{f}.goal.grasp.yaw"), grasp.yaw, -7.0, 7.0)?;
                finite_in(
                    &format!("{f}.goal.grasp.symmetry"),
                    grasp.symmetry,
                    0.0,
                    7.0,
                )?;
                finite_in(&format!("{f}.goal.dz"), *dz, -0.5, 0.5)?;
            }
            GoalSpec::RaiseTo { z } => finite_in(&format!("{f}.goal.z"), *z, 0.0, 1.0)?,
            GoalSpec::Drift { object } => {
                obj("object", object)?;
            }
            GoalSpec::AtPlace {
                object,
                target,
                place,
                dz,
            } => {
                obj("object", object)?;
                obj("target", target)?;
                finite_in(&format!("{f}.goal.place.height"), place.height, -0.5, 1.0)?;
                if let Some(s) = place.symmetry {
                    finite_in(&format!("{f}.goal.place.symmetry"), s, 0.0, 7.0)?;
                }
                finite_vec(&format!("{f}.goal.place.offset"), &place.offset, 1.0)?;
                finite_in(&format!("{f}.goal.place.yaw"), place.yaw, -7.0, 7.0)?;
                finite_in(&format!("{f}.goal.dz"), *dz, -0.5, 0.5)?;
            }
            GoalSpec::Along { object, distance } => {
                let i = obj("object", object)?;
                if task.objects[i].joint.is_none() {
                    return Err(invalid(
                        format!("{f}.goal.object"),
                        format!("'{object}' has no joint to move along"),
                    ));
                }
                finite_in(&format!("{f}.goal.distance"), *distance, -1.0, 1.0)?;
            }
        }
    }
    Ok(())
}

fn check_columns(task: &Task) -> Result<(), TaskError> {
    for (k, c) in task.object_state.iter().enumerate() {
        let f = format!("object_state[{k}]");
        check_name(&format!("{f}.name"), &c.name)?;
        if task.object_state[..k].iter().any(|d| d.name == c.name) {
            return Err(invalid(
                format!("{f}.name"),
                format!("'{}' names two columns", c.name),
            ));
        }
        for n in c.value.objects() {
            let i = task
                .object_index(n)
                .map_err(|_| invalid(format!("{f}.value"), format!("no object is named '{n}'")))?;
            if c.value.is_joint() && task.objects[i].joint.is_none() {
                return Err(invalid(
                    format!("{f}.value"),
                    format!("'{n}' has no joint whose opening could be observed"),
                ));
            }
        }
    }
    Ok(())
}

fn check_geometry(task: &Task, field: &str, g: &GeometryVariant) -> Result<(), TaskError> {
    for (k, o) in g.objects.iter().enumerate() {
        let Ok(i) = task.object_index(&o.name) else {
            return Err(invalid(
                format!("{field}.objects[{k}].name"),
                format!("'{}' replaces no object of the task", o.name),
            ));
        };
        let mut t = task.clone();
        t.objects[i] = o.clone();
        check_object(&t, i, o).map_err(|e| match e {
            TaskError::Invalid { field: f, message } => invalid(format!("{field}.{f}"), message),
            e => e,
        })?;
    }
    for (name, z) in &g.rest_z {
        if task.object_index(name).is_err() {
            return Err(invalid(
                format!("{field}.rest_z"),
                format!("no object is named '{name}'"),
            ));
        }
        finite_in(&format!("{field}.rest_z.{name}"), *z, 0.0, 1.0)?;
    }
    Ok(())
}

/// Check every field of `task`; the first problem found is returned.
pub fn validate(task: &Task) -> Result<(), TaskError> {
    if task.format != TASK_FORMAT {
        return Err(invalid(
            "dmgen_task",
            format!(
                "format {} is not one this tool reads (it reads {TASK_FORMAT})",
                task.format
            ),
        ));
    }
    if !is_identifier(&task.id) {
        return Err(invalid(
            "id",
            format!(
                "'{}' is not a task id; use 1-64 characters from a-z, 0-9 and _",
                task.id
            ),
        ));
    }
    if task.description.len() > 2000 {
        return Err(invalid("description", "at most 2,000 characters"));
    }
    if task.objects.is_empty() || task.objects.len() > MAX_OBJECTS {
        return Err(invalid(
            "objects",
            format!(
                "has {} objects; a task has 1 to {MAX_OBJECTS}",
                task.objects.len()
            ),
        ));
    }
    for (i, o) in task.objects.iter().enumerate() {
        check_object(task, i, o)?;
    }
    if task.objects.iter().all(|o| o.fixed || o.joint.is_some()) {
        return Err(invalid(
            "objects",
            "every object is fixed or jointed; a task needs one the robot can pick",
        ));
    }
    if task.fixtures.len() > MAX_OBJECTS {
        return Err(invalid(
            "fixtures",
            format!(
                "has {} fixtures; at most {MAX_OBJECTS}",
                task.fixtures.len()
            ),
        ));
    }
    for (k, fx) in task.fixtures.iter().enumerate() {
        let f = format!("fixtures[{k}] ({})", fx.name);
        check_name(&format!("fixtures[{k}].name"), &fx.name)?;
        check_parts(&format!("{f}.parts"), &fx.parts)?;
        check_pose(&format!("{f}.pose"), &fx.pose, 2.0)?;
        finite_in(&format!("{f}.friction"), fx.friction, 0.0, 2.0)?;
        finite_vec(&format!("{f}.surface_velocity"), &fx.surface_velocity, 1.0)?;
    }
    check_resets(task, "reset", &task.reset)?;
    for (level, r) in &task.reset_levels {
        if *level == ResetLevel::D0 {
            return Err(invalid(
                "reset_levels.d0",
                "d0 is the task's `reset`; list only d1 and d2 here",
            ));
        }
        check_resets(task, &format!("reset_levels.{}", level.as_str()), r)?;
    }
    finite_in("min_gap", task.min_gap, 0.0, 0.5)?;
    check_placeable(task, "reset")?;
    for (level, r) in &task.reset_levels {
        let mut t = task.clone();
        t.reset = r.clone();
        check_placeable(&t, &format!("reset_levels.{}", level.as_str()))?;
    }
    if task.subtasks.is_empty() || task.subtasks.len() > MAX_SUBTASKS {
        return Err(invalid(
            "subtasks",
            format!(
                "has {} subtasks; a task has 1 to {MAX_SUBTASKS}",
                task.subtasks.len()
            ),
        ));
    }
    for (k, s) in task.subtasks.iter().enumerate() {
        let f = format!("subtasks[{k}]");
        check_name(&format!("{f}.name"), &s.name)?;
        if task.subtasks[..k].iter().any(|t| t.name == s.name) {
            return Err(invalid(
                format!("{f}.name"),
                format!("'{}' names two subtasks", s.name),
            ));
        }
        let i = task.object_index(&s.object).map_err(|_| {
            invalid(
                format!("{f}.object"),
                format!(
                    "no object is named '{}' (the task's objects: {})",
                    s.object,
                    task.object_names().join(", ")
                ),
            )
        })?;
        let o = &task.objects[i];
        match s.kind {
            SubtaskKind::Grasp if o.fixed || o.joint.is_some() => {
                return Err(invalid(
                    format!("{f}.object"),
                    format!("'{}' is fixed or jointed and cannot be grasped", s.object),
                ));
            }
            SubtaskKind::Pull | SubtaskKind::Push if o.joint.is_none() => {
                return Err(invalid(
                    format!("{f}.kind"),
                    format!("'{}' has no joint to pull or push", s.object),
                ));
            }
            _ => {}
        }
        if let Some(done) = &s.done {
            check_predicate(task, &format!("{f}.done"), done, 0)?;
        }
    }
    if task.picked_object().is_none() {
        return Err(invalid("subtasks", "needs a grasp subtask"));
    }
    check_predicate(task, "success", &task.success, 0)?;
    finite_in("hold_time", task.hold_time, 0.0, 10.0)?;
    positive_up_to("horizon", task.horizon, 600.0)?;
    if task.hold_time >= task.horizon {
        return Err(invalid("hold_time", "must be shorter than the horizon"));
    }
    finite_vec("camera.eye", &task.camera.eye, 10.0)?;
    finite_vec("camera.target", &task.camera.target, 10.0)?;
    if (task.camera.eye - task.camera.target).norm() < 1e-3 {
        return Err(invalid("camera", "eye and target are the same point"));
    }
    finite_in("camera.fov_deg", task.camera.fov_deg, 5.0, 150.0)?;
    check_columns(task)?;
    for (name, to) in &task.aliases {
        if name.is_empty() || name.len() > 256 {
            return Err(invalid("aliases", "a name must be 1-256 characters"));
        }
        if task.object_index(to).is_err() {
            return Err(invalid(
                format!("aliases.{name}"),
                format!("'{to}' is not an object of the task"),
            ));
        }
    }
    for (g, v) in &task.geometries {
        check_geometry(task, &format!("geometries.{}", g.as_str()), v)?;
    }
    check_script(task)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{builtin_task_json, Task, TaskError, TASK_IDS};
    use serde_json::{json, Value};

    fn base(id: &str) -> Value {
        serde_json::from_str(builtin_task_json(id).unwrap()).unwrap()
    }

    fn message(v: &Value) -> String {
        match Task::from_json(&v.to_string()) {
            Ok(_) => panic!("accepted: {v}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn builtin_files_are_valid_and_canonical() {
        for id in TASK_IDS {
            let text = builtin_task_json(id).unwrap();
            let t = Task::from_json(text).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(t.id, id);
            assert_eq!(t.to_json(), text, "{id}: the file is what to_json writes");
        }
    }

    /// Each malformed file is refused with a message naming the field and the problem.
    #[test]
    fn malformed_task_files_get_clear_messages() {
        type Edit = fn(&mut Value);
        let cases: Vec<(&str, Edit, &str)> = vec![
            (
                "mass zero",
                |v| v["objects"][0]["mass"] = json!(0.0),
                "objects[0] (cubeA).mass: must be greater than 0",
            ),
            (
                "mass negative",
                |v| v["objects"][1]["mass"] = json!(-1.0),
                "objects[1] (cubeB).mass",
            ),
            (
                "friction too high",
                |v| v["objects"][0]["friction"] = json!(5.0),
                "objects[0] (cubeA).friction: 5 is outside 0..=2",
            ),
            (
                "duplicate name",
                |v| v["objects"][1]["name"] = json!("cubeA"),
                "'cubeA' names two objects",
            ),
            (
                "bad name",
                |v| v["objects"][0]["name"] = json!("cube A"),
                "objects[0].name: 'cube A' is not a name",
            ),
            (
                "no parts",
                |v| v["objects"][0]["parts"] = json!([]),
                "objects[0] (cubeA).parts: needs at least one part",
            ),
            (
                "zero size",
                |v| v["objects"][0]["parts"][0]["half_extents"] = json!([0.0, 0.02, 0.02]),
                "parts[0].half_extents[0]",
            ),
            (
                "huge size",
                |v| v["objects"][0]["parts"][0]["half_extents"] = json!([3.0, 0.02, 0.02]),
                "3 is outside",
            ),
            (
                "unknown shape",
                |v| v["objects"][0]["parts"][0]["type"] = json!("torus"),
                "unknown variant `torus`",
            ),
            (
                "unknown field",
                |v| v["objects"][0]["masss"] = json!(1.0),
                "unknown field `masss`",
            ),
            (
                "missing field",
                |v| {
                    v["objects"][0].as_object_mut().unwrap().remove("mass");
                },
                "missing field `mass`",
            ),
            (
                "wrong type",
                |v| v["min_gap"] = json!("wide"),
                "invalid type: string \"wide\", expected f64",
            ),
            (
                "reset count",
                |v| {
                    v["reset"].as_array_mut().unwrap().pop();
                },
                "reset: lists 1 resets for 2 objects",
            ),
            (
                "reset off table",
                |v| v["reset"][0]["x"] = json!([0.9, 1.4]),
                "reset[0] (cubeA).x: [0.9, 1.4] reaches off the table",
            ),
            (
                "reset reversed",
                |v| v["reset"][1]["y"] = json!([0.1, -0.1]),
                "reset[1] (cubeB).y: [0.1, -0.1] is not a range",
            ),
            (
                "into the table",
                |v| v["reset"][0]["z"] = json!(0.0),
                "reset[0] (cubeA).z: 0 puts the object 0.0250 m into the table",
            ),
            (
                "inside each other",
                |v| {
                    v["reset"][0]["x"] = json!([0.5, 0.5]);
                    v["reset"][0]["y"] = json!([0.0, 0.0]);
                    v["reset"][1]["x"] = json!([0.5, 0.5]);
                    v["reset"][1]["y"] = json!([0.01, 0.01]);
                },
                "objects 'cubeA' and 'cubeB' start inside each other",
            ),
            (
                "level d0 listed",
                |v| v["reset_levels"]["d0"] = v["reset"].clone(),
                "reset_levels.d0",
            ),
            (
                "unknown level",
                |v| v["reset_levels"]["d7"] = v["reset"].clone(),
                "unknown variant `d7`",
            ),
            (
                "subtask object",
                |v| v["subtasks"][1]["object"] = json!("cubeC"),
                "subtasks[1].object: no object is named 'cubeC' (the task's objects: cubeA, cubeB)",
            ),
            (
                "predicate object",
                |v| v["success"]["bottom"] = json!("table"),
                "success.bottom: no object is named 'table'",
            ),
            (
                "predicate same object",
                |v| v["success"]["bottom"] = json!("cubeA"),
                "success.bottom: names the same object twice",
            ),
            (
                "predicate tolerance",
                |v| v["success"]["xy_tol"] = json!(0.0),
                "success.xy_tol: must be greater than 0",
            ),
            (
                "nan",
                |v| v["hold_time"] = json!(null),
                "invalid type: null, expected f64",
            ),
            (
                "hold longer than horizon",
                |v| {
                    v["hold_time"] = json!(5.0);
                    v["horizon"] = json!(4.0);
                },
                "hold_time: must be shorter than the horizon",
            ),
            (
                "horizon zero",
                |v| v["horizon"] = json!(0.0),
                "horizon: must be greater than 0",
            ),
            (
                "camera",
                |v| v["camera"]["target"] = v["camera"]["eye"].clone(),
                "camera: eye and target are the same point",
            ),
            (
                "no grasp",
                |v| {
                    v["subtasks"] =
                        json!([{"name": "place_on_cubeB", "object": "cubeB", "kind": "place"}])
                },
                "subtasks: needs a grasp subtask",
            ),
            (
                "format",
                |v| v["dmgen_task"] = json!(2),
                "dmgen_task: format 2 is not one this tool reads",
            ),
            (
                "bad id",
                |v| v["id"] = json!("Stack!"),
                "id: 'Stack!' is not a task id",
            ),
            (
                "script subtask",
                |v| v["script"][0]["subtask"] = json!(5),
                "script[0] (approach).subtask: 5 is not a subtask index",
            ),
            (
                "script object",
                |v| v["script"][0]["goal"]["object"] = json!("ghost"),
                "script[0] (approach).goal.object: no object is named 'ghost'",
            ),
            (
                "script order",
                |v| v["script"][0]["subtask"] = json!(1),
                "phases must follow the subtask outline in order",
            ),
            (
                "column object",
                |v| v["object_state"][0]["value"]["object"] = json!("ghost"),
                "object_state[0].value: no object is named 'ghost'",
            ),
            (
                "alias target",
                |v| v["aliases"] = json!({"cube_a": "ghost"}),
                "aliases.cube_a: 'ghost' is not an object",
            ),
            (
                "geometry object",
                |v| v["geometries"]["robosuite"]["objects"][0]["name"] = json!("ghost"),
                "geometries.robosuite.objects[0].name: 'ghost' replaces no object",
            ),
            (
                "unit quaternion",
                |v| v["objects"][0]["parts"][0]["quat"] = json!([0.0, 0.0, 0.0, 2.0]),
                "parts[0].offset.quat: must be a unit quaternion",
            ),
            (
                "empty all",
                |v| v["success"] = json!({"type": "all", "all": []}),
                "success.all: needs at least one predicate",
            ),
        ];
        assert!(cases.len() >= 20);
        for (what, edit, expected) in cases {
            let mut v = base("stack");
            edit(&mut v);
            let m = message(&v);
            assert!(
                m.contains(expected),
                "{what}: got \"{m}\", expected \"{expected}\""
            );
        }
    }

    #[test]
    fn joints_and_drawers_are_checked() {
        type Edit = fn(&mut Value);
        let cases: Vec<(Edit, &str)> = vec![
            (
                |v| v["objects"][1]["joint"]["parent"] = json!("mug"),
                "'mug' must be a fixed object",
            ),
            (
                |v| v["objects"][1]["joint"]["parent"] = json!("shelf"),
                "objects[1] (drawer).joint.parent: no object is named 'shelf'",
            ),
            (
                |v| v["objects"][1]["joint"]["axis"] = json!([0.0, -2.0, 0.0]),
                "joint.axis: must be a unit vector",
            ),
            (
                |v| v["objects"][1]["joint"]["range"] = json!([0.0, 0.0]),
                "joint.range[1]: must be greater than 0",
            ),
            (
                |v| v["objects"][1]["fixed"] = json!(true),
                "an object on a joint cannot also be fixed",
            ),
            (
                |v| v["subtasks"][0]["object"] = json!("mug"),
                "subtasks[0].kind: 'mug' has no joint to pull or push",
            ),
            (
                |v| v["subtasks"][1]["object"] = json!("cabinet"),
                "'cabinet' is fixed or jointed and cannot be grasped",
            ),
            (
                |v| v["success"]["drawer"] = json!("cabinet"),
                "success.drawer: 'cabinet' has no joint",
            ),
        ];
        for (edit, expected) in cases {
            let mut v = base("mug_cleanup");
            edit(&mut v);
            let m = message(&v);
            assert!(m.contains(expected), "got \"{m}\", expected \"{expected}\"");
        }
    }

    #[test]
    fn oversized_and_garbage_input_is_refused() {
        let big = format!(
            "{{\"description\": \"{}\"}}",
            "x".repeat(super::MAX_TASK_BYTES)
        );
        assert!(Task::from_json(&big)
            .unwrap_err()
            .to_string()
            .contains("more than a task file may have"));
        for text in ["", "{", "[]", "null", "{\"dmgen_task\": 1}", "\u{feff}{}"] {
            let e = Task::from_json(text).unwrap_err();
            assert!(matches!(e, TaskError::Parse { .. }), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_task_file_round_trips_and_spheres_are_parts() {
        let mut v = base("lift");
        v["id"] = json!("ball_lift");
        v["objects"][0]["parts"] = json!([{"type": "sphere", "radius": 0.03}]);
        v["reset"][0]["z"] = json!(0.03);
        v["success"]["rest_z"] = json!(0.03);
        let t = Task::from_json(&v.to_string()).unwrap();
        assert!((t.objects[0].bottom_depth() - 0.03).abs() < 1e-12);
        assert!((t.objects[0].footprint_radius() - 0.03).abs() < 1e-12);
        assert_eq!(Task::from_json(&t.to_json()).unwrap(), t);
    }
}

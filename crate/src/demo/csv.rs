//! The CSV demo format (docs/formats.md).

use super::*;

/// The fixed leading columns of the CSV format; objects follow as
/// `<obj>_x,<obj>_y,<obj>_z,<obj>_qx,<obj>_qy,<obj>_qz,<obj>_qw`.
pub const CSV_BASE_COLUMNS: [&str; 9] = [
    "t", "eef_x", "eef_y", "eef_z", "eef_qx", "eef_qy", "eef_qz", "eef_qw", "gripper",
];
const OBJ_SUFFIXES: [&str; 7] = ["_x", "_y", "_z", "_qx", "_qy", "_qz", "_qw"];

/// Read the CSV demo format (header documented in `docs/formats.md`). Blank
/// lines and lines starting with `#` are skipped.
pub fn read_csv_demo(bytes: &[u8]) -> Result<Demo, DemoError> {
    if bytes.len() > MAX_DEMO_BYTES {
        return Err(DemoError::TooLarge { bytes: bytes.len() });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DemoError::Csv {
        line: 0,
        msg: format!("not UTF-8 text: {e}"),
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let (hline, header) = lines.next().ok_or(DemoError::Empty)?;
    let cols: Vec<&str> = header.split(',').map(|c| c.trim()).collect();
    // The gripper column names its convention: `gripper_01` (0 open, 1 closed),
    // `gripper_action` (robosuite's action: -1 open, +1 closed), or `gripper` (detected
    // from the values, see `GripperColumn`).
    let gripper_kind = match cols.get(8) {
        Some(&"gripper") => GripperColumn::Detect,
        Some(&"gripper_01") => GripperColumn::ZeroOne,
        Some(&"gripper_action") => GripperColumn::Action,
        _ => GripperColumn::Detect,
    };
    for (i, want) in CSV_BASE_COLUMNS.iter().enumerate() {
        match cols.get(i) {
            Some(c) if c == want => {}
            Some(&("gripper_01" | "gripper_action")) if i == 8 => {}
            Some(c) => {
                return Err(DemoError::Csv {
                    line: hline,
                    msg: format!("column {} is '{c}', expected '{want}'", i + 1),
                })
            }
            None => return Err(DemoError::Missing(format!("CSV column '{want}'"))),
        }
    }
    let mut gripper_lines = Vec::new();
    let extra = &cols[CSV_BASE_COLUMNS.len()..];
    if !extra.len().is_multiple_of(7) {
        return Err(DemoError::Csv {
            line: hline,
            msg: format!(
                "{} object columns; each object needs 7 (<obj>_x,_y,_z,_qx,_qy,_qz,_qw)",
                extra.len()
            ),
        });
    }
    let mut names = Vec::new();
    for chunk in extra.chunks(7) {
        let name = chunk[0].strip_suffix("_x").ok_or_else(|| DemoError::Csv {
            line: hline,
            msg: format!("column '{}' should end in '_x'", chunk[0]),
        })?;
        for (c, suf) in chunk.iter().zip(OBJ_SUFFIXES) {
            if *c != format!("{name}{suf}") {
                return Err(DemoError::Csv {
                    line: hline,
                    msg: format!("column '{c}' should be '{name}{suf}'"),
                });
            }
        }
        names.push(name.to_string());
    }
    let mut demo = Demo {
        task: None,
        t: Vec::new(),
        eef: Vec::new(),
        gripper: Vec::new(),
        objects: names
            .iter()
            .map(|n| ObjectTrack {
                name: n.clone(),
                poses: Vec::new(),
            })
            .collect(),
        subtask_term_signals: Vec::new(),
    };
    let mut row = Vec::with_capacity(cols.len());
    for (ln, l) in lines {
        row.clear();
        for (ci, cell) in l.split(',').enumerate() {
            let v: f64 = cell.trim().parse().map_err(|_| DemoError::Csv {
                line: ln,
                msg: format!(
                    "column '{}': '{}' is not a number",
                    cols.get(ci).unwrap_or(&"?"),
                    cell.trim()
                ),
            })?;
            row.push(v);
        }
        if row.len() != cols.len() {
            return Err(DemoError::Csv {
                line: ln,
                msg: format!(
                    "{} values but the header has {} columns",
                    row.len(),
                    cols.len()
                ),
            });
        }
        let pose_at = |o: usize| {
            Pose::new(
                Vec3([row[o], row[o + 1], row[o + 2]]),
                Quat([row[o + 3], row[o + 4], row[o + 5], row[o + 6]]),
            )
        };
        demo.t.push(row[0]);
        demo.eef.push(pose_at(1));
        demo.gripper.push(row[8]);
        gripper_lines.push(ln);
        for (j, o) in demo.objects.iter_mut().enumerate() {
            o.poses.push(pose_at(9 + 7 * j));
        }
    }
    map_gripper_column(&mut demo.gripper, &gripper_lines, cols[8], gripper_kind)?;
    demo.validate()?;
    Ok(demo)
}

/// How a CSV demo's gripper column is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GripperColumn {
    /// `gripper_01`: a command in [0, 1], 0 open, 1 closed (this project's convention).
    ZeroOne,
    /// `gripper_action`: robosuite's gripper action in [-1, 1], -1 open, +1 closed.
    Action,
    /// `gripper`: [0, 1] when every value is in [0, 1], robosuite's action convention
    /// when every value is in [-1, 1] and some are negative.
    Detect,
}

/// Map the gripper column to [0, 1] in place (`lines`: the CSV line of each value).
fn map_gripper_column(
    values: &mut [f64],
    lines: &[usize],
    column: &str,
    kind: GripperColumn,
) -> Result<(), DemoError> {
    let in01 = |v: f64| (0.0..=1.0).contains(&v);
    let in11 = |v: f64| (-1.0..=1.0).contains(&v);
    let kind = match kind {
        GripperColumn::Detect if values.iter().all(|v| in01(*v)) => GripperColumn::ZeroOne,
        GripperColumn::Detect if values.iter().all(|v| in11(*v)) => GripperColumn::Action,
        k => k,
    };
    let (ok, range): (&dyn Fn(f64) -> bool, &str) = match kind {
        GripperColumn::ZeroOne => (&in01, "[0, 1]"),
        GripperColumn::Action => (&in11, "[-1, 1]"),
        GripperColumn::Detect => (&|_| false, ""),
    };
    if let Some(k) = values.iter().position(|v| !ok(*v)) {
        let msg = if kind == GripperColumn::Detect {
            format!(
                "column '{column}': {} fits neither gripper convention: [0, 1] (0 open, 1 closed) nor robosuite's action [-1, 1] (-1 open, +1 closed)",
                values[k]
            )
        } else {
            format!("column '{column}': {} is outside {range}", values[k])
        };
        return Err(DemoError::Csv {
            line: lines.get(k).copied().unwrap_or(0),
            msg,
        });
    }
    if kind == GripperColumn::Action {
        for v in values.iter_mut() {
            *v = 0.5 * (*v + 1.0);
        }
    }
    Ok(())
}

/// Write a demo in the CSV format (readable by [`read_csv_demo`]).
pub fn demo_to_csv(demo: &Demo) -> String {
    let mut s = CSV_BASE_COLUMNS.join(",");
    for o in &demo.objects {
        for suf in OBJ_SUFFIXES {
            s.push(',');
            s.push_str(&o.name);
            s.push_str(suf);
        }
    }
    s.push('\n');
    let push_pose = |s: &mut String, p: &Pose| {
        for v in p.pos.0.iter().chain(p.quat.0.iter()) {
            s.push(',');
            s.push_str(&v.to_string());
        }
    };
    for k in 0..demo.len() {
        s.push_str(&demo.t[k].to_string());
        if let Some(p) = demo.eef.get(k) {
            push_pose(&mut s, p);
        }
        s.push(',');
        s.push_str(&demo.gripper.get(k).copied().unwrap_or(0.0).to_string());
        for o in &demo.objects {
            if let Some(p) = o.poses.get(k) {
                push_pose(&mut s, p);
            }
        }
        s.push('\n');
    }
    s
}

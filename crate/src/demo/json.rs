//! The project's JSON demo format (`dmgen-demo/1`, docs/formats.md).

use super::*;

fn json_arr<'a>(v: &'a Value, field: &str) -> Result<&'a Vec<Value>, DemoError> {
    v.as_array()
        .ok_or_else(|| shape_err(field, None, "expected an array"))
}

fn json_num(v: &Value, field: &str, index: usize) -> Result<f64, DemoError> {
    v.as_f64()
        .ok_or_else(|| shape_err(field, Some(index), format!("expected a number, found {v}")))
}

fn json_fixed<const N: usize>(v: &Value, field: &str, index: usize) -> Result<[f64; N], DemoError> {
    let a = v.as_array().ok_or_else(|| {
        shape_err(
            field,
            Some(index),
            format!("expected an array of {N} numbers"),
        )
    })?;
    if a.len() != N {
        return Err(shape_err(
            field,
            Some(index),
            format!("expected {N} numbers, found {}", a.len()),
        ));
    }
    let mut out = [0.0; N];
    for (o, x) in out.iter_mut().zip(a) {
        *o = json_num(x, field, index)?;
    }
    Ok(out)
}

fn json_series<const N: usize>(
    obj: &Value,
    key: &str,
    field: &str,
) -> Result<Vec<[f64; N]>, DemoError> {
    let v = obj
        .get(key)
        .ok_or_else(|| DemoError::Missing(field.to_string()))?;
    json_arr(v, field)?
        .iter()
        .enumerate()
        .map(|(i, x)| json_fixed::<N>(x, field, i))
        .collect()
}

fn poses_from(pos: &[[f64; 3]], quat: &[[f64; 4]], field: &str) -> Result<Vec<Pose>, DemoError> {
    if pos.len() != quat.len() {
        return Err(shape_err(
            field,
            None,
            format!("{} positions but {} quaternions", pos.len(), quat.len()),
        ));
    }
    Ok(pos
        .iter()
        .zip(quat)
        .map(|(p, q)| Pose::new(Vec3(*p), Quat(*q)))
        .collect())
}

/// A JSON syntax error; NaN and Infinity (which Python's `json.dump` writes by default)
/// get a message of their own.
fn json_error(bytes: &[u8], e: &serde_json::Error) -> DemoError {
    let line = bytes
        .split(|&b| b == b'\n')
        .nth(e.line().saturating_sub(1))
        .unwrap_or(&[]);
    // serde_json's column is 1-based and points at (or just past) the bad token.
    let from = e.column().saturating_sub(2).min(line.len());
    let near = &line[from..line.len().min(from + 10)];
    let non_finite = [&b"NaN"[..], b"Infinity", b"nan", b"inf"]
        .iter()
        .any(|tok| near.windows(tok.len()).any(|w| w == *tok));
    if non_finite {
        DemoError::Json(format!(
            "NaN or Infinity at line {}, column {}: JSON has no such numbers (Python's json.dump writes them unless allow_nan=False); every value must be a finite number",
            e.line(),
            e.column()
        ))
    } else {
        DemoError::Json(e.to_string())
    }
}

/// Read the project's JSON demo format (`"format": "dmgen-demo/1"`, see
/// `docs/formats.md` and `public/demo.schema.json`) and validate it.
pub fn read_json_demo(bytes: &[u8]) -> Result<Demo, DemoError> {
    if bytes.len() > MAX_DEMO_BYTES {
        return Err(DemoError::TooLarge { bytes: bytes.len() });
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| json_error(bytes, &e))?;
    let root = v
        .as_object()
        .ok_or_else(|| DemoError::Json("the top level must be an object".into()))?;
    match root.get("format").and_then(|f| f.as_str()) {
        Some(JSON_FORMAT) => {}
        Some(other) => {
            return Err(DemoError::Format(format!(
                "'format' is '{other}', this reader understands '{JSON_FORMAT}'"
            )))
        }
        None => return Err(DemoError::Missing("format".into())),
    }
    let task = match root.get("task") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(shape_err("task", None, "expected a string")),
    };
    let t_v = root
        .get("t")
        .ok_or_else(|| DemoError::Missing("t".into()))?;
    let t = json_arr(t_v, "t")?
        .iter()
        .enumerate()
        .map(|(i, x)| json_num(x, "t", i))
        .collect::<Result<Vec<_>, _>>()?;
    let eef_pos = json_series::<3>(&v, "eef_pos", "eef_pos")?;
    let eef_quat = json_series::<4>(&v, "eef_quat", "eef_quat")?;
    let eef = poses_from(&eef_pos, &eef_quat, "eef")?;
    let g_v = root
        .get("gripper")
        .ok_or_else(|| DemoError::Missing("gripper".into()))?;
    let gripper = json_arr(g_v, "gripper")?
        .iter()
        .enumerate()
        .map(|(i, x)| json_num(x, "gripper", i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut objects = Vec::new();
    if let Some(ov) = root.get("objects") {
        for (j, o) in json_arr(ov, "objects")?.iter().enumerate() {
            let name = o
                .get("name")
                .and_then(|n| n.as_str())
                .ok_or_else(|| DemoError::Missing(format!("objects[{j}].name")))?
                .to_string();
            let pos = json_series::<3>(o, "pos", &format!("objects.{name}.pos"))?;
            let quat = json_series::<4>(o, "quat", &format!("objects.{name}.quat"))?;
            let poses = poses_from(&pos, &quat, &format!("objects.{name}"))?;
            objects.push(ObjectTrack { name, poses });
        }
    }
    let mut subtask_term_signals = Vec::new();
    if let Some(sv) = root.get("subtask_term_signals") {
        let map = sv.as_object().ok_or_else(|| {
            shape_err("subtask_term_signals", None, "expected an object of arrays")
        })?;
        for (name, arr) in map {
            let field = format!("subtask_term_signals.{name}");
            let vals = json_arr(arr, &field)?
                .iter()
                .enumerate()
                .map(|(i, x)| match x.as_u64() {
                    Some(b @ 0..=1) => Ok(b as u8),
                    _ => Err(shape_err(&field, Some(i), "expected 0 or 1")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            subtask_term_signals.push((name.clone(), vals));
        }
    }
    let mut demo = Demo {
        task,
        t,
        eef,
        gripper,
        objects,
        subtask_term_signals,
    };
    demo.validate()?;
    Ok(demo)
}

/// Write a demo in the project's JSON format (readable by [`read_json_demo`]).
pub fn demo_to_json(demo: &Demo) -> String {
    let mut root = Map::new();
    root.insert("format".into(), json!(JSON_FORMAT));
    if let Some(t) = &demo.task {
        root.insert("task".into(), json!(t));
    }
    root.insert("t".into(), json!(demo.t));
    root.insert(
        "eef_pos".into(),
        json!(demo.eef.iter().map(|p| p.pos.0).collect::<Vec<_>>()),
    );
    root.insert(
        "eef_quat".into(),
        json!(demo.eef.iter().map(|p| p.quat.0).collect::<Vec<_>>()),
    );
    root.insert("gripper".into(), json!(demo.gripper));
    let objects: Vec<Value> = demo
        .objects
        .iter()
        .map(|o| {
            json!({
                "name": o.name,
                "pos": o.poses.iter().map(|p| p.pos.0).collect::<Vec<_>>(),
                "quat": o.poses.iter().map(|p| p.quat.0).collect::<Vec<_>>(),
            })
        })
        .collect();
    root.insert("objects".into(), Value::Array(objects));
    if !demo.subtask_term_signals.is_empty() {
        let mut sig = Map::new();
        for (n, v) in &demo.subtask_term_signals {
            sig.insert(n.clone(), json!(v));
        }
        root.insert("subtask_term_signals".into(), Value::Object(sig));
    }
    Value::Object(root).to_string()
}

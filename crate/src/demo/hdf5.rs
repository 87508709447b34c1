//! robomimic / MimicGen HDF5 demos (docs/formats.md).

use super::*;

fn h5err(what: &str, e: hdf5_pure::Error) -> DemoError {
    DemoError::Hdf5(format!("{what}: {}", describe_hdf5_error(&e)))
}

/// What went wrong reading an HDF5 file, in a few words for the person who uploaded it.
/// (The reader's own messages cover every corner of the format; formatting them would
/// add their text to the browser module for cases a demo upload does not meet.)
fn describe_hdf5_error(e: &hdf5_pure::Error) -> String {
    use hdf5_pure::{Error as E, FormatError as F};
    match e {
        E::Format(F::PathNotFound(_)) => "not found".into(),
        E::NotADataset(_) => "is not a dataset".into(),
        E::NotAGroup(_) => "is not a group".into(),
        E::Format(F::SignatureNotFound) => "no HDF5 signature; this is not an HDF5 file".into(),
        E::Format(F::UnexpectedEof { .. }) => {
            "the file ends too early (truncated or damaged)".into()
        }
        E::Format(F::ChecksumMismatch { .. }) => {
            "a checksum does not match (the file is damaged)".into()
        }
        E::Format(F::UnsupportedFilter(id)) => {
            format!("a dataset uses compression filter {id}, which this reader does not support; save the file with gzip or without compression")
        }
        E::Format(F::UnsupportedVersion(v)) => {
            format!("superblock version {v} is not supported")
        }
        E::Format(_) => "malformed or unsupported HDF5 structure".into(),
        _ => "the file could not be read as HDF5".into(),
    }
}

fn open_h5(bytes: &[u8]) -> Result<hdf5_pure::File, DemoError> {
    if bytes.len() > MAX_DEMO_BYTES {
        return Err(DemoError::TooLarge { bytes: bytes.len() });
    }
    if !bytes.starts_with(HDF5_SIGNATURE) {
        return Err(DemoError::Hdf5(
            "not an HDF5 file (signature missing)".into(),
        ));
    }
    if let Some(declared) = hdf5_declared_len(bytes) {
        if declared > bytes.len() as u64 {
            return Err(DemoError::Hdf5(format!(
                "the file is truncated: its header declares {declared} bytes but only {} are present (was the download or copy cut short?)",
                bytes.len()
            )));
        }
    }
    hdf5_pure::File::from_bytes(bytes.to_vec()).map_err(|e| h5err("cannot open file", e))
}

/// The file length the HDF5 superblock at offset 0 declares (base address plus
/// end-of-file address), when the superblock is readable; `None` otherwise (the HDF5
/// library then reports what is wrong). Superblock layouts: HDF5 file format spec,
/// section II.A (versions 0 and 1, and versions 2 and 3).
fn hdf5_declared_len(bytes: &[u8]) -> Option<u64> {
    let read = |at: usize, width: usize| -> Option<u64> {
        let s = bytes.get(at..at.checked_add(width)?)?;
        Some(
            s.iter()
                .enumerate()
                .fold(0u64, |v, (i, &b)| v | (u64::from(b) << (8 * i))),
        )
    };
    let (offsets_at, base_at) = match *bytes.get(8)? {
        0 => (13, 24),
        1 => (13, 28),
        2 | 3 => (9, 12),
        _ => return None,
    };
    let o = usize::from(*bytes.get(offsets_at)?);
    if !matches!(o, 2 | 4 | 8) {
        return None;
    }
    // base address, then (v0/1: free-space info | v2/3: superblock extension) address,
    // then the end-of-file address.
    let base = read(base_at, o)?;
    let eof = read(base_at + 2 * o, o)?;
    base.checked_add(eof)
}

pub(crate) fn sorted_demo_names(file: &hdf5_pure::File) -> Result<Vec<String>, DemoError> {
    let group = file
        .group("data")
        .map_err(|e| h5err("group 'data' (robomimic layout) not found", e))?;
    let mut names: Vec<(u64, String)> = group
        .groups()
        .map_err(|e| h5err("cannot list 'data'", e))?
        .into_iter()
        .filter_map(|n| {
            let i = n.strip_prefix("demo_")?.parse::<u64>().ok()?;
            Some((i, n))
        })
        .collect();
    names.sort();
    Ok(names.into_iter().map(|(_, n)| n).collect())
}

/// Where an episode of a dataset this tool wrote came from: the generation
/// configuration (`data.attrs["dmgen_config"]`) and the episode's attempt index and
/// seed (`dmgen_attempt`, `dmgen_seed`). An environment reset to that attempt's scene
/// starts where the episode did.
#[derive(Clone, Debug, PartialEq)]
pub struct EpisodeOrigin {
    pub config_json: String,
    pub attempt: u64,
    pub seed: u64,
}

/// [`EpisodeOrigin`] of episode `demo` (`demo_0`, ...) of a dataset's bytes.
pub fn episode_origin(bytes: &[u8], demo: &str) -> Result<EpisodeOrigin, DemoError> {
    let file = open_h5(bytes)?;
    let names = sorted_demo_names(&file)?;
    if !names.iter().any(|n| n == demo) {
        let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
        return Err(DemoError::Hdf5(format!(
            "no episode '{demo}' in the file ({} episodes: {}{})",
            names.len(),
            shown.join(", "),
            if names.len() > 5 { ", ..." } else { "" }
        )));
    }
    let missing = |what: &str| {
        DemoError::Hdf5(format!(
            "{what} is missing: only datasets written by this tool record the scene an episode started from"
        ))
    };
    let config_json = file
        .group("data")
        .and_then(|g| g.attrs())
        .ok()
        .and_then(|a| {
            a.get("dmgen_config")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .ok_or_else(|| missing("data.attrs['dmgen_config']"))?;
    let attrs = file
        .group(&format!("data/{demo}"))
        .and_then(|g| g.attrs())
        .map_err(|e| h5err(&format!("cannot read data/{demo}'s attributes"), e))?;
    let num = |k: &str| {
        attrs.get(k).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_i64().and_then(|x| u64::try_from(x).ok()))
        })
    };
    Ok(EpisodeOrigin {
        config_json,
        attempt: num("dmgen_attempt")
            .ok_or_else(|| missing(&format!("data/{demo}.attrs['dmgen_attempt']")))?,
        seed: num("dmgen_seed")
            .ok_or_else(|| missing(&format!("data/{demo}.attrs['dmgen_seed']")))?,
    })
}

/// Names of the demos (`data/demo_<i>` groups) in a robomimic/MimicGen HDF5
/// file, ordered by their number.
pub fn list_hdf5_demos(bytes: &[u8]) -> Result<Vec<String>, DemoError> {
    let file = open_h5(bytes)?;
    sorted_demo_names(&file)
}

/// Read dataset `path` as `T x cols` (cols = product of the trailing dims, which must equal `tail`).
fn read_rows(
    file: &hdf5_pure::File,
    path: &str,
    tail: &[u64],
) -> Result<(usize, Vec<f64>), DemoError> {
    let ds = file
        .dataset(path)
        .map_err(|e| h5err(&format!("dataset '{path}'"), e))?;
    let shape = ds
        .shape()
        .map_err(|e| h5err(&format!("shape of '{path}'"), e))?;
    let t = *shape
        .first()
        .ok_or_else(|| shape_err(path, None, "is a scalar, expected T rows"))?;
    let ok = if tail.is_empty() {
        shape.len() == 1 || (shape.len() == 2 && shape[1] == 1)
    } else {
        &shape[1..] == tail
    };
    if !ok {
        return Err(shape_err(
            path,
            None,
            format!(
                "shape {shape:?}, expected [T{}]",
                tail.iter().map(|d| format!(", {d}")).collect::<String>()
            ),
        ));
    }
    let data = ds
        .read_f64()
        .map_err(|e| h5err(&format!("reading '{path}'"), e))?;
    let t = t as usize;
    let cols = tail.iter().product::<u64>().max(1) as usize;
    if data.len() != t * cols {
        return Err(shape_err(
            path,
            None,
            format!("{} values for shape {shape:?}", data.len()),
        ));
    }
    Ok((t, data))
}

fn mat4_rows(path: &str, t: usize, data: &[f64]) -> Result<Vec<Pose>, DemoError> {
    let mut out = Vec::with_capacity(t);
    for (k, c) in data.chunks_exact(16).enumerate() {
        if c.iter().any(|v| !v.is_finite()) {
            return Err(DemoError::NonFinite {
                field: path.to_string(),
                index: k,
            });
        }
        let m = [
            [c[0], c[1], c[2], c[3]],
            [c[4], c[5], c[6], c[7]],
            [c[8], c[9], c[10], c[11]],
            [c[12], c[13], c[14], c[15]],
        ];
        out.push(Pose::from_mat4(&m));
    }
    Ok(out)
}

fn check_len(path: &str, t: usize, want: usize) -> Result<(), DemoError> {
    if t != want {
        return Err(shape_err(
            path,
            None,
            format!("has {t} rows, expected {want}"),
        ));
    }
    Ok(())
}

/// Map a robosuite gripper action (-1 open, +1 closed) to [0, 1].
fn gripper_from_action(a: f64) -> f64 {
    0.5 * (a + 1.0)
}

/// Read demo number `index` (position in [`list_hdf5_demos`]) of a
/// robomimic/MimicGen HDF5 file. Uses `datagen_info` when present (MimicGen
/// source demos), else `obs/robot0_eef_pos`, `obs/robot0_eef_quat` and the last
/// column of `actions`. Timestamps are `k * HDF5_DT`. Poses are in the file's
/// frame; call [`Demo::align_to_scene`] to move them into the scene.
pub fn read_hdf5_demo(bytes: &[u8], index: usize) -> Result<Demo, DemoError> {
    let file = open_h5(bytes)?;
    let names = sorted_demo_names(&file)?;
    let name = names.get(index).ok_or(DemoError::NoSuchDemo {
        index,
        count: names.len(),
    })?;
    let base = format!("data/{name}");
    let dg = format!("{base}/datagen_info");
    let mut demo = if file.group(&dg).is_ok() {
        let (t, eef_raw) = read_rows(&file, &format!("{dg}/eef_pose"), &[4, 4])?;
        let eef = mat4_rows(&format!("{dg}/eef_pose"), t, &eef_raw)?;
        let gpath = format!("{dg}/gripper_action");
        let (tg, g) = read_rows(&file, &gpath, &[])?;
        check_len(&gpath, tg, t)?;
        let mut objects = Vec::new();
        let opath = format!("{dg}/object_poses");
        if let Ok(og) = file.group(&opath) {
            let mut onames = og.datasets().map_err(|e| h5err(&opath, e))?;
            onames.sort();
            for on in onames {
                let p = format!("{opath}/{on}");
                let (to, raw) = read_rows(&file, &p, &[4, 4])?;
                check_len(&p, to, t)?;
                objects.push(ObjectTrack {
                    name: on,
                    poses: mat4_rows(&p, to, &raw)?,
                });
            }
        }
        let mut signals = Vec::new();
        let spath = format!("{dg}/subtask_term_signals");
        if let Ok(sg) = file.group(&spath) {
            let mut snames = sg.datasets().map_err(|e| h5err(&spath, e))?;
            snames.sort();
            for sn in snames {
                let p = format!("{spath}/{sn}");
                let (ts, raw) = read_rows(&file, &p, &[])?;
                check_len(&p, ts, t)?;
                let vals = raw.iter().map(|&v| u8::from(v > 0.5)).collect();
                signals.push((sn, vals));
            }
        }
        Demo {
            task: None,
            t: Vec::new(),
            eef,
            gripper: g.into_iter().map(gripper_from_action).collect(),
            objects,
            subtask_term_signals: signals,
        }
    } else {
        let pp = format!("{base}/obs/robot0_eef_pos");
        let (t, pos) = read_rows(&file, &pp, &[3])?;
        let qp = format!("{base}/obs/robot0_eef_quat");
        let (tq, quat) = read_rows(&file, &qp, &[4])?;
        check_len(&qp, tq, t)?;
        let ap = format!("{base}/actions");
        let ads = file
            .dataset(&ap)
            .map_err(|e| h5err(&format!("dataset '{ap}'"), e))?;
        let ashape = ads.shape().map_err(|e| h5err(&ap, e))?;
        let acols = match ashape.as_slice() {
            [n, c] if *n as usize == t && *c >= 1 => *c as usize,
            _ => {
                return Err(shape_err(
                    &ap,
                    None,
                    format!("shape {ashape:?}, expected [{t}, D]"),
                ))
            }
        };
        let (_, act) = read_rows(&file, &ap, &[acols as u64])?;
        let eef = pos
            .chunks_exact(3)
            .zip(quat.chunks_exact(4))
            .map(|(p, q)| Pose::new(Vec3([p[0], p[1], p[2]]), Quat([q[0], q[1], q[2], q[3]])))
            .collect();
        let gripper = act
            .chunks_exact(acols)
            .map(|r| gripper_from_action(r[acols - 1].clamp(-1.0, 1.0)))
            .collect();
        Demo {
            task: None,
            t: Vec::new(),
            eef,
            gripper,
            objects: Vec::new(),
            subtask_term_signals: Vec::new(),
        }
    };
    demo.t = (0..demo.eef.len()).map(|k| k as f64 * HDF5_DT).collect();
    demo.task = task_from_env_args(&file);
    demo.validate()?;
    Ok(demo)
}

/// The playground task a robomimic file's `data.attrs["env_args"]["env_name"]` names, if
/// any: a task id (`lift`, `stack`, ... as dmgen writes it) or a robosuite / MimicGen
/// environment name for one (`Lift`, `Stack_D0`, `Square_D1`, ...).
fn task_from_env_args(file: &hdf5_pure::File) -> Option<String> {
    file_info(file)
        .env_name
        .as_deref()
        .and_then(task_from_env_name)
}

/// What a robomimic file's `data` attributes say about where it came from (the readers
/// of whole datasets, training and the LeRobot converter, share this).
#[derive(Clone, Debug, Default)]
pub(crate) struct FileInfo {
    /// `env_args.env_name`.
    pub env_name: Option<String>,
    /// `env_args.env_kwargs.control_freq`.
    pub control_freq: Option<f64>,
    /// This tool's configuration's task, else the task `env_name` names.
    pub task_id: Option<String>,
    /// `dmgen_actions` (`delta` or `abs`), when this tool wrote the file.
    pub actions_convention: Option<String>,
    /// `dmgen_obs_layout`: the layout of `obs/object` (absent in files written before
    /// layout 2).
    pub obs_layout: Option<u32>,
    /// `dmgen_object_columns`: `obs/object`'s column groups `(name, width)`.
    pub object_columns: Option<Vec<(String, usize)>>,
}

pub(crate) fn file_info(file: &hdf5_pure::File) -> FileInfo {
    let mut info = FileInfo::default();
    let Ok(attrs) = file.group("data").and_then(|g| g.attrs()) else {
        return info;
    };
    let text = |k: &str| attrs.get(k).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(args) = text("env_args").and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
        info.env_name = args
            .get("env_name")
            .and_then(Value::as_str)
            .map(str::to_string);
        info.control_freq = args
            .get("env_kwargs")
            .and_then(|k| k.get("control_freq"))
            .and_then(Value::as_f64);
    }
    info.task_id = text("dmgen_config")
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|c| c.get("task").and_then(Value::as_str).map(str::to_string))
        .or_else(|| info.env_name.as_deref().and_then(task_from_env_name));
    info.actions_convention = text("dmgen_actions");
    info.obs_layout = attrs
        .get("dmgen_obs_layout")
        .and_then(|v| v.as_i64())
        .and_then(|v| u32::try_from(v).ok());
    info.object_columns = text("dmgen_object_columns")
        .and_then(|t| serde_json::from_str::<Vec<(String, usize)>>(&t).ok());
    info
}

/// The shape of dataset `path`: `Ok(None)` when it is absent, `Err` with a message when
/// its shape cannot be read.
#[cfg(any(feature = "lerobot", feature = "learn"))]
pub(crate) fn dataset_shape(
    file: &hdf5_pure::File,
    path: &str,
) -> Result<Option<Vec<u64>>, String> {
    let Ok(ds) = file.dataset(path) else {
        return Ok(None);
    };
    ds.shape().map(Some).map_err(|e| format!("{path}: {e}"))
}

/// `(rows, columns)` of a rank-1 (`(T,)`, one column) or rank-2 shape.
#[cfg(any(feature = "lerobot", feature = "learn"))]
pub(crate) fn rows_cols(shape: &[u64]) -> Option<(usize, usize)> {
    match shape {
        [t] => Some((*t as usize, 1)),
        [t, c] => Some((*t as usize, *c as usize)),
        _ => None,
    }
}

pub(crate) fn task_from_env_name(name: &str) -> Option<String> {
    // This tool's Gymnasium ids: `dmgen/<Task>-v<k>` (see `export::gymnasium_id`).
    let name = match name
        .strip_prefix("dmgen/")
        .and_then(|n| n.rsplit_once("-v"))
    {
        Some((base, k)) if !k.is_empty() && k.bytes().all(|c| c.is_ascii_digit()) => base,
        _ => name,
    };
    let name = name.to_ascii_lowercase();
    // MimicGen's variants carry a `_d<k>` suffix.
    let base = match name.rsplit_once("_d") {
        Some((b, k)) if !k.is_empty() && k.bytes().all(|c| c.is_ascii_digit()) => b,
        _ => name.as_str(),
    };
    let id = match base {
        "nutassemblysquare" => "square",
        "pickplace" => "pick_place",
        other => other,
    };
    ["lift", "stack", "square", "pick_place", "conveyor"]
        .contains(&id)
        .then(|| id.to_string())
}

/// Write a demo as a MimicGen-style robomimic HDF5 file with one episode,
/// `data/demo_0`: `datagen_info/{eef_pose, object_poses/<name>, gripper_action,
/// subtask_term_signals/<name>}` plus `obs/robot0_eef_pos`, `obs/robot0_eef_quat`
/// and `actions` (T x 7, gripper in the last column). Used for test fixtures.
pub fn demo_to_mimicgen_hdf5(demo: &Demo) -> Result<Vec<u8>, DemoError> {
    use hdf5_pure::{AttrValue, FileBuilder};
    let t = demo.len() as u64;
    let mat = |poses: &[Pose]| -> Vec<f64> {
        poses
            .iter()
            .flat_map(|p| p.to_mat4().into_iter().flatten())
            .collect()
    };
    let action: Vec<f64> = demo.gripper.iter().map(|g| 2.0 * g - 1.0).collect();
    let mut fb = FileBuilder::new();
    let mut data = fb.create_group("data");
    data.set_attr("total", AttrValue::I64(t as i64));
    data.set_attr("env_args", AttrValue::VarLenString("{}".into()));
    let mut ep = data.create_group("demo_0");
    ep.set_attr("num_samples", AttrValue::I64(t as i64));
    let mut dg = ep.create_group("datagen_info");
    dg.create_dataset("eef_pose")
        .with_f64_data(&mat(&demo.eef))
        .with_shape(&[t, 4, 4]);
    dg.create_dataset("gripper_action")
        .with_f64_data(&action)
        .with_shape(&[t, 1]);
    let mut og = dg.create_group("object_poses");
    for o in &demo.objects {
        og.create_dataset(&o.name)
            .with_f64_data(&mat(&o.poses))
            .with_shape(&[t, 4, 4]);
    }
    dg.add_group(og.finish());
    if !demo.subtask_term_signals.is_empty() {
        let mut sg = dg.create_group("subtask_term_signals");
        for (n, v) in &demo.subtask_term_signals {
            let f: Vec<f64> = v.iter().map(|&b| b as f64).collect();
            sg.create_dataset(n).with_f64_data(&f).with_shape(&[t]);
        }
        dg.add_group(sg.finish());
    }
    ep.add_group(dg.finish());
    let mut obs = ep.create_group("obs");
    let pos: Vec<f64> = demo.eef.iter().flat_map(|p| p.pos.0).collect();
    let quat: Vec<f64> = demo.eef.iter().flat_map(|p| p.quat.0).collect();
    obs.create_dataset("robot0_eef_pos")
        .with_f64_data(&pos)
        .with_shape(&[t, 3]);
    obs.create_dataset("robot0_eef_quat")
        .with_f64_data(&quat)
        .with_shape(&[t, 4]);
    ep.add_group(obs.finish());
    let actions: Vec<f64> = action
        .iter()
        .flat_map(|&g| [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, g])
        .collect();
    ep.create_dataset("actions")
        .with_f64_data(&actions)
        .with_shape(&[t, 7]);
    data.add_group(ep.finish());
    fb.add_group(data.finish());
    fb.finish().map_err(|e| h5err("writing", e))
}

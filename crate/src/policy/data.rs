//! Training data: the low-dim observations and actions of a robomimic HDF5 file (this
//! tool's datasets, or any file with the same keys), checked and converted to `f32`.

use super::{ActionSpace, PolicyError};
use crate::geom::{Quat, Vec3};

/// An absolute action `[position (3), rotation vector (3), gripper]` as `[position,
/// the rotation's first two matrix columns (6), gripper]`.
pub fn abs_to_rot6d(a: &[f32]) -> [f32; 10] {
    let q = Quat::from_rotvec(Vec3::new(a[3].into(), a[4].into(), a[5].into()));
    let r = q.to_mat3();
    let mut out = [0.0f32; 10];
    out[..3].copy_from_slice(&a[..3]);
    for col in 0..2 {
        for row in 0..3 {
            out[3 + 3 * col + row] = r[row][col] as f32;
        }
    }
    out[9] = a[6];
    out
}

/// The inverse of [`abs_to_rot6d`] for any 6 numbers: the columns are made orthonormal
/// (Gram-Schmidt, Zhou et al. 2019) and the rotation is written as a rotation vector.
pub fn rot6d_to_abs(a: &[f64]) -> [f64; 7] {
    let c0 = Vec3::new(a[3], a[4], a[5]);
    let c1 = Vec3::new(a[6], a[7], a[8]);
    let x = if c0.norm() > 1e-9 {
        c0.normalized()
    } else {
        Vec3::new(1.0, 0.0, 0.0)
    };
    let y0 = c1 - x * x.dot(c1);
    let y = if y0.norm() > 1e-9 {
        y0.normalized()
    } else {
        // Degenerate: any unit vector orthogonal to x.
        let t = if x.x().abs() < 0.9 {
            Vec3::new(1.0, 0.0, 0.0)
        } else {
            Vec3::new(0.0, 1.0, 0.0)
        };
        (t - x * x.dot(t)).normalized()
    };
    let z = x.cross(y);
    let m = [
        [x.x(), y.x(), z.x()],
        [x.y(), y.y(), z.y()],
        [x.z(), y.z(), z.z()],
    ];
    let r = Quat::from_mat3(&m).to_rotvec();
    [a[0], a[1], a[2], r.x(), r.y(), r.z(), a[9]]
}

/// The largest dataset file a training run reads (bytes): 4 GiB, the HDF5 offsets this
/// tool writes; a page also needs the file in memory once.
pub const MAX_DATASET_BYTES: u64 = 4 << 30;

/// One episode: `t` rows of observations (`obs_dim` wide, keys concatenated in order)
/// and of actions.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    pub name: String,
    pub t: usize,
    pub obs: Vec<f32>,
    pub actions: Vec<f32>,
}

/// The episodes of a dataset, split as its `mask/train` and `mask/valid` say.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingData {
    /// The file's `dmgen_obs_layout` (1 when absent: files written before it existed).
    pub object_layout: u32,
    /// `(key, width)` in concatenation order.
    pub obs_keys: Vec<(String, usize)>,
    pub action_dim: usize,
    /// The `dmgen_actions` attribute (`delta` or `abs`); `delta` when the file is silent
    /// (robomimic's convention).
    pub actions: String,
    /// The task id the file names (this tool's configuration or environment name).
    pub task: Option<String>,
    pub train: Vec<Episode>,
    pub valid: Vec<Episode>,
}

impl TrainingData {
    pub fn obs_dim(&self) -> usize {
        self.obs_keys.iter().map(|(_, w)| w).sum()
    }
    /// Frames in the training split.
    pub fn train_frames(&self) -> usize {
        self.train.iter().map(|e| e.t).sum()
    }
}

fn bad(msg: impl Into<String>) -> PolicyError {
    PolicyError::Data(msg.into())
}

fn h5(what: &str, e: hdf5_pure::Error) -> PolicyError {
    bad(format!("{what}: {e}"))
}

/// `(rows, columns)` of a dataset of rank 1 or 2 (or 3, `(T, a, b)` read as `a * b`
/// columns: the 4x4 poses of `datagen_info`), `None` if absent.
fn shape2(file: &hdf5_pure::File, path: &str) -> Result<Option<(usize, usize)>, PolicyError> {
    match crate::demo::dataset_shape(file, path).map_err(bad)? {
        None => Ok(None),
        Some(shape) if shape.len() == 3 => {
            Ok(Some((shape[0] as usize, (shape[1] * shape[2]) as usize)))
        }
        Some(shape) => crate::demo::rows_cols(&shape).map(Some).ok_or_else(|| {
            bad(format!(
                "'{path}' has shape {shape:?}; a low-dim key is (T,) or (T, D)"
            ))
        }),
    }
}

/// Where key `k` of episode `name` lives: `obs/<k>`, or the path itself under the
/// episode when it names a group (`datagen_info/object_poses/cube`).
fn key_path(name: &str, k: &str) -> String {
    if k.contains('/') {
        format!("data/{name}/{k}")
    } else {
        format!("data/{name}/obs/{k}")
    }
}

/// The task a dataset file names (its generation configuration or environment), if any.
/// `Ok(None)` for a readable file that names no task; an error for one that is not a
/// dataset at all (empty, too large, not HDF5), with the message training gives.
pub fn dataset_task(bytes: &[u8]) -> Result<Option<String>, PolicyError> {
    Ok(crate::demo::file_info(&open(bytes)?).task_id)
}

/// The task a dataset this tool wrote was generated in, as its file describes it: from
/// the generation configuration the file carries (`data.attrs["dmgen_config"]`, which
/// holds a task that is not built in), else the built-in task the file names. `None`:
/// the file names no task of this tool.
pub fn dataset_task_spec(bytes: &[u8]) -> Result<Option<crate::task::Task>, PolicyError> {
    let file = open(bytes)?;
    let config = file
        .group("data")
        .and_then(|g| g.attrs())
        .ok()
        .and_then(|a| {
            a.get("dmgen_config")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .and_then(|json| crate::config::GenerationConfig::from_json(&json).ok());
    if let Some(task) = config.and_then(|c| c.base_task().ok()) {
        return Ok(Some(task));
    }
    let Some(id) = crate::demo::file_info(&file).task_id else {
        return Ok(None);
    };
    crate::task::Task::by_id(&id)
        .map(Some)
        .map_err(|e| PolicyError::Data(e.to_string()))
}

/// Open a dataset file, refusing empty, oversized and unreadable ones with a message.
fn open(bytes: &[u8]) -> Result<hdf5_pure::File, PolicyError> {
    if bytes.is_empty() {
        return Err(bad("the dataset file is empty"));
    }
    if bytes.len() as u64 > MAX_DATASET_BYTES {
        return Err(bad(format!(
            "the dataset is {} bytes; the limit is {MAX_DATASET_BYTES}",
            bytes.len()
        )));
    }
    hdf5_pure::File::from_bytes(bytes.to_vec())
        .map_err(|e| bad(format!("not a readable HDF5 file (truncated?): {e}")))
}

/// The keys a feature policy of a task with these objects reads: the hand's position
/// and quaternion, the fingers, and each object's pose from `datagen_info` (present in
/// every file this tool writes, whatever the layout of `object`).
pub fn feature_keys(objects: &[String]) -> Vec<String> {
    let mut k: Vec<String> = ["robot0_eef_pos", "robot0_eef_quat", "robot0_gripper_qpos"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    k.extend(
        objects
            .iter()
            .map(|o| format!("datagen_info/object_poses/{o}")),
    );
    k
}

/// `data` (read with [`feature_keys`]) with every observation row turned into
/// features: one key, `features`.
pub fn to_features(
    data: &TrainingData,
    f: &super::features::Features,
) -> Result<TrainingData, PolicyError> {
    let d = data.obs_dim();
    let want = 9 + 16 * f.objects.len();
    if d != want {
        return Err(bad(format!(
            "feature input needs {want} values per frame (hand, fingers, {} object poses), the data has {d}",
            f.objects.len()
        )));
    }
    let convert = |eps: &[Episode]| -> Vec<Episode> {
        eps.iter()
            .map(|e| {
                let mut obs = Vec::with_capacity(e.t * f.width());
                for row in e.obs.chunks_exact(d) {
                    f.encode_row(row, &mut obs);
                }
                Episode { obs, ..e.clone() }
            })
            .collect()
    };
    Ok(TrainingData {
        obs_keys: vec![("features".to_string(), f.width())],
        train: convert(&data.train),
        valid: convert(&data.valid),
        ..data.clone()
    })
}

fn read_f32(file: &hdf5_pure::File, path: &str, want: usize) -> Result<Vec<f32>, PolicyError> {
    let v = file
        .dataset(path)
        .map_err(|e| h5(path, e))?
        .read_f64()
        .map_err(|e| h5(&format!("reading '{path}'"), e))?;
    if v.len() != want {
        return Err(bad(format!(
            "'{path}' holds {} values, its shape says {want} (truncated file?)",
            v.len()
        )));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!("'{path}' has a non-finite value at index {i}")));
    }
    Ok(v.into_iter().map(|x| x as f32).collect())
}

fn mask(file: &hdf5_pure::File, name: &str) -> Option<Vec<String>> {
    let ds = file.dataset(&format!("mask/{name}")).ok()?;
    ds.read_string().ok()
}

/// Read the training data of `bytes` (a robomimic HDF5 file) with observation keys
/// `keys` (each present in every episode with the same width) and actions in `space`
/// (the file's `actions` as they are, or absolute targets as position, 6-D rotation and
/// gripper, read from the file's absolute actions: `actions` in a file of absolute
/// actions, `actions_abs` otherwise).
pub fn read_training_data(
    bytes: &[u8],
    keys: &[String],
    space: ActionSpace,
) -> Result<TrainingData, PolicyError> {
    if keys.is_empty() {
        return Err(bad("no observation keys given"));
    }
    let file = open(bytes)?;
    let names = crate::demo::sorted_demo_names(&file).map_err(|e| bad(e.to_string()))?;
    if names.is_empty() {
        return Err(bad("the file has no episodes (no data/demo_<i> groups)"));
    }
    let info = crate::demo::file_info(&file);
    let actions = info
        .actions_convention
        .clone()
        .unwrap_or_else(|| "delta".into());
    let task = info.task_id.clone();
    let action_key = match space {
        ActionSpace::Dataset => "actions",
        ActionSpace::Absolute if actions == "abs" => "actions",
        ActionSpace::Absolute => "actions_abs",
    };

    let mut obs_keys: Vec<(String, usize)> = Vec::new();
    let mut action_dim = 0usize;
    let mut episodes = Vec::with_capacity(names.len());
    for name in &names {
        let apath = format!("data/{name}/{action_key}");
        let (t, ad) = shape2(&file, &apath)?.ok_or_else(|| {
            bad(match space {
                ActionSpace::Absolute => format!(
                    "'{apath}' is missing: absolute actions need a file of this tool (or train with actions 'dataset')"
                ),
                ActionSpace::Dataset => format!("'{apath}' is missing"),
            })
        })?;
        if space == ActionSpace::Absolute && ad != 7 {
            return Err(bad(format!(
                "'{apath}' is {ad} wide; absolute actions are 7 (position, rotation vector, gripper)"
            )));
        }
        if t == 0 {
            continue;
        }
        if action_dim == 0 {
            action_dim = ad;
        } else if ad != action_dim {
            return Err(bad(format!(
                "'{apath}' is {ad} wide, earlier episodes' actions are {action_dim}"
            )));
        }
        let mut widths = Vec::with_capacity(keys.len());
        for k in keys {
            let p = key_path(name, k);
            let (tk, w) = shape2(&file, &p)?.ok_or_else(|| {
                let have = file
                    .group(&format!("data/{name}/obs"))
                    .and_then(|g| g.datasets())
                    .map(|d| d.join(", "))
                    .unwrap_or_default();
                bad(format!(
                    "observation key '{k}' is missing in {name} (it has: {have})"
                ))
            })?;
            if tk != t {
                return Err(bad(format!(
                    "'{p}' has {tk} rows, the episode's actions {t}"
                )));
            }
            widths.push(w);
        }
        if obs_keys.is_empty() {
            obs_keys = keys.iter().cloned().zip(widths.iter().copied()).collect();
        } else if let Some((i, _)) = obs_keys
            .iter()
            .zip(&widths)
            .enumerate()
            .find(|(_, ((_, a), b))| a != *b)
        {
            return Err(bad(format!(
                "observation '{}' is {} wide in {name}, {} in earlier episodes",
                keys[i], widths[i], obs_keys[i].1
            )));
        }
        let cols: Vec<Vec<f32>> = keys
            .iter()
            .zip(&widths)
            .map(|(k, w)| read_f32(&file, &key_path(name, k), t * w))
            .collect::<Result<_, _>>()?;
        let dim: usize = widths.iter().sum();
        let mut obs = Vec::with_capacity(t * dim);
        for r in 0..t {
            for (c, w) in cols.iter().zip(&widths) {
                obs.extend_from_slice(&c[r * w..(r + 1) * w]);
            }
        }
        let mut actions = read_f32(&file, &apath, t * ad)?;
        if space == ActionSpace::Absolute {
            actions = actions.chunks_exact(7).flat_map(abs_to_rot6d).collect();
        }
        episodes.push(Episode {
            name: name.clone(),
            t,
            obs,
            actions,
        });
    }
    if episodes.is_empty() {
        return Err(bad("every episode of the file is empty"));
    }
    // Split by the file's masks (all episodes train when there are none).
    let valid_names = mask(&file, "valid").unwrap_or_default();
    let train_names = mask(&file, "train");
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for e in episodes {
        if valid_names.contains(&e.name) {
            valid.push(e);
        } else if train_names.as_ref().is_none_or(|t| t.contains(&e.name)) {
            train.push(e);
        }
    }
    if train.is_empty() {
        // A file whose masks put everything in `valid` (e.g. one episode): train on it.
        std::mem::swap(&mut train, &mut valid);
    }
    if space == ActionSpace::Absolute {
        action_dim = 10;
    }
    Ok(TrainingData {
        object_layout: info.obs_layout.unwrap_or(1),
        obs_keys,
        action_dim,
        actions,
        task,
        train,
        valid,
    })
}

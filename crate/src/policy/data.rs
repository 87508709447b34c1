//! Training data: the low-dim observations and actions of a robomimic HDF5 file (this
//! tool's datasets, or any file with the same keys), checked and converted to `f32`.

use super::PolicyError;

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

/// `(rows, columns)` of a dataset of rank 1 or 2, `None` if absent.
fn shape2(file: &hdf5_pure::File, path: &str) -> Result<Option<(usize, usize)>, PolicyError> {
    match crate::demo::dataset_shape(file, path).map_err(bad)? {
        None => Ok(None),
        Some(shape) => crate::demo::rows_cols(&shape).map(Some).ok_or_else(|| {
            bad(format!(
                "'{path}' has shape {shape:?}; a low-dim key is (T,) or (T, D)"
            ))
        }),
    }
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
/// `keys` (each present in every episode with the same width). With `expect`
/// (`(key, width)` list and action width of a trained policy) the file must match it.
pub fn read_training_data(
    bytes: &[u8],
    keys: &[String],
    expect: Option<(&[(String, usize)], usize)>,
) -> Result<TrainingData, PolicyError> {
    if bytes.is_empty() {
        return Err(bad("the dataset file is empty"));
    }
    if bytes.len() as u64 > MAX_DATASET_BYTES {
        return Err(bad(format!(
            "the dataset is {} bytes; the limit is {MAX_DATASET_BYTES}",
            bytes.len()
        )));
    }
    if keys.is_empty() {
        return Err(bad("no observation keys given"));
    }
    let file = hdf5_pure::File::from_bytes(bytes.to_vec())
        .map_err(|e| bad(format!("not a readable HDF5 file (truncated?): {e}")))?;
    let names = crate::demo::sorted_demo_names(&file).map_err(|e| bad(e.to_string()))?;
    if names.is_empty() {
        return Err(bad("the file has no episodes (no data/demo_<i> groups)"));
    }
    let info = crate::demo::file_info(&file);
    let actions = info.actions_convention.unwrap_or_else(|| "delta".into());
    let task = info.task_id;

    let mut obs_keys: Vec<(String, usize)> = Vec::new();
    let mut action_dim = 0usize;
    let mut episodes = Vec::with_capacity(names.len());
    for name in &names {
        let apath = format!("data/{name}/actions");
        let (t, ad) = shape2(&file, &apath)?.ok_or_else(|| bad(format!("'{apath}' is missing")))?;
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
            let p = format!("data/{name}/obs/{k}");
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
            .map(|(k, w)| read_f32(&file, &format!("data/{name}/obs/{k}"), t * w))
            .collect::<Result<_, _>>()?;
        let dim: usize = widths.iter().sum();
        let mut obs = Vec::with_capacity(t * dim);
        for r in 0..t {
            for (c, w) in cols.iter().zip(&widths) {
                obs.extend_from_slice(&c[r * w..(r + 1) * w]);
            }
        }
        let actions = read_f32(&file, &apath, t * ad)?;
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
    if let Some((want_keys, want_ad)) = expect {
        if want_keys != obs_keys.as_slice() || want_ad != action_dim {
            let show = |k: &[(String, usize)]| {
                k.iter()
                    .map(|(n, w)| format!("{n}[{w}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(bad(format!(
                "the dataset has observations {} and {action_dim}-wide actions; the policy expects {} and {want_ad}",
                show(&obs_keys),
                show(want_keys)
            )));
        }
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
    Ok(TrainingData {
        obs_keys,
        action_dim,
        actions,
        task,
        train,
        valid,
    })
}

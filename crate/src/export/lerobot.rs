//! LeRobot dataset v3.0, converted from a robomimic low-dim HDF5 file (this tool's
//! datasets, or any robomimic file with low-dim `obs`), identical bytes natively and in
//! wasm32. Layout, feature names and conventions: `docs/dataset.md`.
//!
//! The converter reads the robomimic file rather than the generator's records, so that
//! every robomimic dataset, from the command line, the page or elsewhere, gives the same
//! LeRobot dataset, and the page can convert a finished file without regenerating it.
//! Numbers are stored as float32, as LeRobot's own datasets and policies use them (the
//! HDF5 file keeps float64).
//!
//! Files (paths relative to the dataset root):
//! - `meta/info.json`: codebase version, fps, features, totals, path templates, splits;
//! - `meta/tasks.parquet`: one row per task string (the task's description), the string
//!   being the pandas index `task`, with column `task_index`;
//! - `meta/episodes/chunk-000/file-000.parquet`: one row per episode (index, tasks,
//!   length, frame range, data file, per-episode statistics);
//! - `data/chunk-CCC/file-FFF.parquet`: the frames, a new file after
//!   [`LeRobotOptions::data_file_mb`] of uncompressed frame data (an episode never straddles
//!   two files), `chunks_size` files per chunk;
//! - `meta/stats.json`: min, max, mean, std, count and the 1/10/50/90/99 % quantiles of
//!   every numeric feature over all frames.

use super::ExportError;
use arrow_array::builder::{Float64Builder, Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch,
    StringArray, StructArray,
};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// LeRobot's dataset format version written in `meta/info.json`.
pub const CODEBASE_VERSION: &str = "v3.0";
/// Control rate assumed when the file does not say (robosuite's default `control_freq`).
pub const DEFAULT_FPS: f64 = 20.0;
/// Data and episode files per chunk directory (LeRobot's default `chunks_size`).
pub const CHUNKS_SIZE: u64 = 1000;
/// Uncompressed frame data per data file before a new one is started (LeRobot's default
/// `data_files_size_in_mb`).
pub const DATA_FILE_MB: u64 = 100;
/// Path templates, as LeRobot formats them.
pub const DATA_PATH: &str = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
const QUANTILES: [(&str, f64); 5] = [
    ("q01", 0.01),
    ("q10", 0.10),
    ("q50", 0.50),
    ("q90", 0.90),
    ("q99", 0.99),
];
/// Names of the seven action components, in both conventions.
const ACTION_NAMES_DELTA: [&str; 7] = ["dx", "dy", "dz", "drx", "dry", "drz", "gripper"];
const ACTION_NAMES_ABS: [&str; 7] = ["x", "y", "z", "rx", "ry", "rz", "gripper"];
/// robomimic's low-dim keys, in the order this tool writes them.
const STANDARD_OBS: [&str; 5] = [
    "robot0_eef_pos",
    "robot0_eef_quat",
    "robot0_gripper_qpos",
    "robot0_joint_pos",
    "object",
];

/// Conversion settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LeRobotOptions {
    /// Frames per second; `None`: the file's `env_args.env_kwargs.control_freq`, else 20.
    pub fps: Option<f64>,
    /// The task string; `None`: the description of the task the file names, else the
    /// environment name in `env_args`.
    pub task: Option<String>,
    /// Uncompressed MB of frame data per data file.
    pub data_file_mb: u64,
}

impl Default for LeRobotOptions {
    fn default() -> Self {
        LeRobotOptions {
            fps: None,
            task: None,
            data_file_mb: DATA_FILE_MB,
        }
    }
}

/// A converted dataset: files (path relative to the dataset root, bytes) in a fixed
/// order, plus its totals.
#[derive(Clone, Debug, PartialEq)]
pub struct LeRobotDataset {
    pub files: Vec<(String, Vec<u8>)>,
    pub episodes: u64,
    pub frames: u64,
    pub task: String,
    pub fps: f64,
}

fn input_err(msg: impl Into<String>) -> ExportError {
    ExportError::Input(msg.into())
}

fn h5(what: &str, e: hdf5_pure::Error) -> ExportError {
    input_err(format!("{what}: {e}"))
}

fn pq(e: parquet::errors::ParquetError) -> ExportError {
    ExportError::OutOfRange(format!("the Parquet writer failed: {e}"))
}

fn arrow(e: arrow_schema::ArrowError) -> ExportError {
    ExportError::OutOfRange(format!("building an Arrow table failed: {e}"))
}

/// What a feature holds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// float32 vector of this width (width 1: a plain float32 column).
    F32(usize),
    /// int64 scalar.
    I64,
    /// boolean scalar.
    Bool,
    /// An RGB camera frame, stored as a PNG (LeRobot's `image` features: a struct of the
    /// encoded `bytes` and a null `path`, Hugging Face datasets' `Image` layout).
    Image { height: u32, width: u32 },
}

/// The struct fields of an image column.
fn image_fields() -> Fields {
    Fields::from(vec![
        Field::new("bytes", DataType::Binary, true),
        Field::new("path", DataType::Utf8, true),
    ])
}

impl Kind {
    /// Components statistics are kept for (an image's: its three channels).
    fn width(self) -> usize {
        match self {
            Kind::F32(n) => n,
            Kind::I64 | Kind::Bool => 1,
            Kind::Image { .. } => 3,
        }
    }
    fn dtype(self) -> &'static str {
        match self {
            Kind::F32(_) => "float32",
            Kind::I64 => "int64",
            Kind::Bool => "bool",
            Kind::Image { .. } => "image",
        }
    }
    /// `shape` and `names` in `meta/info.json`.
    fn shape(self) -> Vec<usize> {
        match self {
            Kind::Image { height, width } => vec![height as usize, width as usize, 3],
            k => vec![k.width()],
        }
    }
    /// Bytes per frame in memory (the data-file size estimate; images add their PNGs'
    /// sizes as they are encoded).
    fn bytes(self) -> u64 {
        match self {
            Kind::F32(n) => 4 * n as u64,
            Kind::I64 => 8,
            Kind::Bool => 1,
            Kind::Image { .. } => 0,
        }
    }
    fn arrow_type(self) -> DataType {
        match self {
            Kind::F32(1) => DataType::Float32,
            Kind::F32(n) => DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, true)),
                n as i32,
            ),
            Kind::I64 => DataType::Int64,
            Kind::Bool => DataType::Boolean,
            Kind::Image { .. } => DataType::Struct(image_fields()),
        }
    }
}

/// Where a feature's values come from in a robomimic episode.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    /// Datasets under `data/demo_i/`, concatenated column-wise.
    Datasets(Vec<String>),
    /// An `(T, H, W, 3)` uint8 camera series under `data/demo_i/`.
    Image(String),
    /// `dones`, as booleans.
    Done,
    /// `timestamp`, `frame_index`, `episode_index`, `index`, `task_index`.
    Timestamp,
    FrameIndex,
    EpisodeIndex,
    Index,
    TaskIndex,
}

#[derive(Clone, Debug)]
struct Feature {
    name: String,
    kind: Kind,
    names: Option<Vec<String>>,
    source: Source,
}

/// Names of `data/demo_<i>` in the order of `i` (the demo reader's listing).
fn demo_names(file: &hdf5_pure::File) -> Result<Vec<String>, ExportError> {
    let names = crate::demo::sorted_demo_names(file).map_err(|e| input_err(e.to_string()))?;
    if names.is_empty() {
        return Err(input_err(
            "the file has no episodes (no data/demo_<i> groups)",
        ));
    }
    Ok(names)
}

/// `(rows, columns)` of a dataset of rank 1 or 2 (`None`: absent or another rank, e.g. an
/// image key, which the converter leaves to its own reader).
fn shape2(file: &hdf5_pure::File, path: &str) -> Result<Option<(usize, usize)>, ExportError> {
    Ok(crate::demo::dataset_shape(file, path)
        .map_err(input_err)?
        .and_then(|s| crate::demo::rows_cols(&s)))
}

fn read_f64(file: &hdf5_pure::File, path: &str) -> Result<Vec<f64>, ExportError> {
    file.dataset(path)
        .map_err(|e| h5(path, e))?
        .read_f64()
        .map_err(|e| h5(&format!("reading {path}"), e))
}

fn component_names(prefix: &str, suffixes: &[&str]) -> Vec<String> {
    suffixes.iter().map(|s| format!("{prefix}{s}")).collect()
}

fn indexed_names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// What names a file's object columns: its object names, and the column groups of
/// `obs/object` when the file lists them (`dmgen_object_columns`).
#[derive(Clone, Copy)]
struct ObjectNaming<'a> {
    objects: Option<&'a [String]>,
    columns: Option<&'a [(String, usize)]>,
}

/// Names of the components of a robomimic obs key of width `n`.
fn obs_names(key: &str, n: usize, naming: ObjectNaming<'_>) -> Vec<String> {
    let objects = naming.objects;
    const XYZ: [&str; 3] = ["x", "y", "z"];
    const QUAT: [&str; 4] = ["qx", "qy", "qz", "qw"];
    match (key, n) {
        ("robot0_eef_pos", 3) => component_names("eef_", &XYZ),
        ("robot0_eef_quat", 4) => component_names("eef_", &QUAT),
        ("robot0_gripper_qpos", 2) => vec!["finger_left".into(), "finger_right".into()],
        ("robot0_joint_pos", 7) => indexed_names("joint_", 7),
        ("object", _) => match (naming.columns, objects) {
            (Some(cols), _) if cols.iter().map(|c| c.1).sum::<usize>() == n => cols
                .iter()
                .flat_map(|(name, w)| match w {
                    3 => component_names(&format!("{name}_"), &XYZ),
                    4 => component_names(&format!("{name}_"), &QUAT),
                    1 => vec![name.clone()],
                    _ => indexed_names(&format!("{name}_"), *w),
                })
                .collect(),
            (_, Some(objs)) if objs.len() * 7 == n => objs
                .iter()
                .flat_map(|o| {
                    XYZ.iter()
                        .chain(QUAT.iter())
                        .map(move |c| format!("{o}_{c}"))
                })
                .collect(),
            _ => indexed_names("object_", n),
        },
        _ => indexed_names(&format!("{key}_"), n),
    }
}

/// The features of the file, from its first episode.
fn plan_features(
    file: &hdf5_pure::File,
    first: &str,
    info: &crate::demo::FileInfo,
    objects: Option<&[String]>,
) -> Result<Vec<Feature>, ExportError> {
    let objects = ObjectNaming {
        objects,
        columns: info.object_columns.as_deref(),
    };
    let base = format!("data/{first}");
    let (t, action_dim) = shape2(file, &format!("{base}/actions"))?.ok_or_else(|| {
        input_err(format!(
            "{base}/actions is missing or not a [T, D] array; LeRobot datasets need actions"
        ))
    })?;
    // Low-dim observation keys: rank 1 or 2 with T rows (images are rank 4 and skipped).
    let mut keys: Vec<String> = file
        .group(&format!("{base}/obs"))
        .and_then(|g| g.datasets())
        .map_err(|e| h5(&format!("{base}/obs"), e))?;
    keys.sort_by_key(|k| {
        (
            STANDARD_OBS
                .iter()
                .position(|s| s == k)
                .unwrap_or(STANDARD_OBS.len()),
            k.clone(),
        )
    });
    let mut obs: Vec<(String, usize)> = Vec::new();
    // Camera series: `<camera>_image`, (T, H, W, 3) of bytes (robomimic's convention).
    let mut images: Vec<(String, Kind)> = Vec::new();
    for k in keys {
        let path = format!("{base}/obs/{k}");
        if let Some((rows, cols)) = shape2(file, &path)? {
            if rows == t {
                obs.push((k, cols));
            }
        } else if let (Some(camera), Some([rows, h, w, 3])) = (
            k.strip_suffix("_image"),
            crate::demo::dataset_shape(file, &path)
                .map_err(input_err)?
                .as_deref(),
        ) {
            let byte = file
                .dataset(&path)
                .and_then(|d| d.element_size())
                .map_err(|e| h5(&path, e))?
                == 1;
            let side = |n: u64| (1..=u64::from(u16::MAX)).contains(&n);
            if *rows as usize == t && byte && side(*h) && side(*w) {
                images.push((
                    camera.to_string(),
                    Kind::Image {
                        height: *h as u32,
                        width: *w as u32,
                    },
                ));
            }
        }
    }
    if obs.is_empty() {
        return Err(input_err(format!(
            "{base}/obs has no low-dim observations with {t} rows"
        )));
    }
    let width = |k: &str| obs.iter().find(|(n, _)| n == k).map(|(_, c)| *c);
    let obs_path = |k: &str| format!("obs/{k}");
    let mut f = Vec::new();
    // LeRobot's policies read `observation.state` (proprioception) and
    // `observation.environment_state` (the task's objects).
    let state_keys = ["robot0_eef_pos", "robot0_eef_quat", "robot0_gripper_qpos"];
    if state_keys.iter().all(|k| width(k).is_some()) {
        let names: Vec<String> = state_keys
            .iter()
            .flat_map(|k| obs_names(k, width(k).unwrap_or(0), objects))
            .collect();
        f.push(Feature {
            name: "observation.state".into(),
            kind: Kind::F32(names.len()),
            names: Some(names),
            source: Source::Datasets(state_keys.iter().map(|k| obs_path(k)).collect()),
        });
    }
    if let Some(n) = width("object") {
        f.push(Feature {
            name: "observation.environment_state".into(),
            kind: Kind::F32(n),
            names: Some(obs_names("object", n, objects)),
            source: Source::Datasets(vec![obs_path("object")]),
        });
    }
    for (k, n) in &obs {
        f.push(Feature {
            name: format!("observation.{k}"),
            kind: Kind::F32(*n),
            names: Some(obs_names(k, *n, objects)),
            source: Source::Datasets(vec![obs_path(k)]),
        });
    }
    // LeRobot's camera convention: `observation.images.<camera>`.
    for (camera, kind) in images {
        f.push(Feature {
            name: format!("observation.images.{camera}"),
            kind,
            names: Some(vec!["height".into(), "width".into(), "channels".into()]),
            source: Source::Image(format!("obs/{camera}_image")),
        });
    }
    let abs = info.actions_convention.as_deref() == Some("abs");
    let action_names = |abs: bool| -> Vec<String> {
        if action_dim == 7 {
            let n = if abs {
                ACTION_NAMES_ABS
            } else {
                ACTION_NAMES_DELTA
            };
            n.iter().map(|s| s.to_string()).collect()
        } else {
            indexed_names("a", action_dim)
        }
    };
    f.push(Feature {
        name: "action".into(),
        kind: Kind::F32(action_dim),
        names: Some(action_names(abs)),
        source: Source::Datasets(vec!["actions".into()]),
    });
    // The other action convention, when the file has it.
    for (key, feature, other_abs) in [
        ("actions_abs", "action_abs", true),
        ("actions_delta", "action_delta", false),
    ] {
        if shape2(file, &format!("{base}/{key}"))? == Some((t, action_dim)) {
            f.push(Feature {
                name: feature.into(),
                kind: Kind::F32(action_dim),
                names: Some(action_names(other_abs)),
                source: Source::Datasets(vec![key.into()]),
            });
        }
    }
    if shape2(file, &format!("{base}/rewards"))?.is_some_and(|(r, c)| r == t && c == 1) {
        f.push(Feature {
            name: "next.reward".into(),
            kind: Kind::F32(1),
            names: None,
            source: Source::Datasets(vec!["rewards".into()]),
        });
    }
    if shape2(file, &format!("{base}/dones"))?.is_some_and(|(r, c)| r == t && c == 1) {
        f.push(Feature {
            name: "next.done".into(),
            kind: Kind::Bool,
            names: None,
            source: Source::Done,
        });
    }
    if shape2(file, &format!("{base}/datagen_info/subtask_index"))?
        .is_some_and(|(r, c)| r == t && c == 1)
    {
        f.push(Feature {
            name: "subtask_index".into(),
            kind: Kind::I64,
            names: None,
            source: Source::Datasets(vec!["datagen_info/subtask_index".into()]),
        });
    }
    for (name, kind, source) in [
        ("timestamp", Kind::F32(1), Source::Timestamp),
        ("frame_index", Kind::I64, Source::FrameIndex),
        ("episode_index", Kind::I64, Source::EpisodeIndex),
        ("index", Kind::I64, Source::Index),
        ("task_index", Kind::I64, Source::TaskIndex),
    ] {
        f.push(Feature {
            name: name.into(),
            kind,
            names: None,
            source,
        });
    }
    Ok(f)
}

/// One feature's values for one episode, row-major, as stored (f32 rounding applied).
enum Values {
    F32(Vec<f32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
    /// One PNG per frame, and the histogram of each channel's values over the frames.
    Image(Vec<Vec<u8>>, Box<ChannelHistograms>),
}

/// Counts of each byte value per RGB channel: exact statistics of camera frames (min, max,
/// mean, std and numpy's quantiles) without keeping every pixel.
#[derive(Clone)]
struct ChannelHistograms([[u64; 256]; 3]);

impl ChannelHistograms {
    fn new() -> Self {
        ChannelHistograms([[0; 256]; 3])
    }

    fn add_rgb(&mut self, pixels: &[u8]) {
        for px in pixels.chunks_exact(3) {
            for (c, &v) in px.iter().enumerate() {
                self.0[c][v as usize] += 1;
            }
        }
    }

    fn merge(&mut self, other: &ChannelHistograms) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }

    /// `[stat][channel]` in [`STAT_NAMES`] order, as LeRobot normalises images (values
    /// divided by 255).
    fn stats(&self) -> Vec<Vec<f64>> {
        let per: Vec<[f64; 9]> = self.0.iter().map(histogram_stats).collect();
        (0..9)
            .map(|s| per.iter().map(|c| c[s] / 255.0).collect())
            .collect()
    }
}

/// min, max, mean, std (population) and quantiles of the values a histogram counts.
fn histogram_stats(h: &[u64; 256]) -> [f64; 9] {
    let n: u64 = h.iter().sum();
    if n == 0 {
        return [0.0; 9];
    }
    let nf = n as f64;
    let mean = h
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 * c as f64)
        .sum::<f64>()
        / nf;
    let var = h
        .iter()
        .enumerate()
        .map(|(v, &c)| (v as f64 - mean) * (v as f64 - mean) * c as f64)
        .sum::<f64>()
        / nf;
    // The value at position `i` of the sorted values.
    let at = |i: u64| -> f64 {
        let mut seen = 0u64;
        for (v, &c) in h.iter().enumerate() {
            seen += c;
            if seen > i {
                return v as f64;
            }
        }
        255.0
    };
    let mut out = [0.0; 9];
    out[0] = at(0);
    out[1] = at(n - 1);
    out[2] = mean;
    out[3] = var.sqrt();
    for (i, (_, q)) in QUANTILES.iter().enumerate() {
        let pos = q * (n - 1) as f64;
        let lo = pos.floor() as u64;
        let hi = (lo + 1).min(n - 1);
        out[4 + i] = at(lo) + (at(hi) - at(lo)) * (pos - lo as f64);
    }
    out
}

/// One RGB frame as a PNG (fdeflate's fast mode: deterministic and a few tens of
/// microseconds for 84 x 84).
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ExportError> {
    let perr = |e: png::EncodingError| ExportError::OutOfRange(format!("PNG encoding failed: {e}"));
    let mut out = Vec::with_capacity(rgb.len() / 4 + 64);
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut w = enc.write_header().map_err(perr)?;
    w.write_image_data(rgb).map_err(perr)?;
    w.finish().map_err(perr)?;
    Ok(out)
}

impl Values {
    /// Component `c` of every row, as f64 (for statistics).
    fn column(&self, width: usize, c: usize) -> Vec<f64> {
        match self {
            Values::F32(v) => v.chunks_exact(width).map(|row| row[c] as f64).collect(),
            Values::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Values::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
            Values::Image(..) => Vec::new(),
        }
    }

    /// Bytes the values add to a data file beyond the fixed per-frame estimate.
    fn extra_bytes(&self) -> u64 {
        match self {
            Values::Image(pngs, _) => pngs.iter().map(|p| p.len() as u64).sum(),
            _ => 0,
        }
    }

    /// The values as an Arrow column (they move into it).
    fn into_arrow(self, kind: Kind) -> Result<ArrayRef, ExportError> {
        Ok(match (self, kind) {
            (Values::F32(v), Kind::F32(1)) => Arc::new(Float32Array::from(v)),
            (Values::F32(v), Kind::F32(n)) => Arc::new(
                FixedSizeListArray::try_new(
                    Arc::new(Field::new("item", DataType::Float32, true)),
                    n as i32,
                    Arc::new(Float32Array::from(v)),
                    None,
                )
                .map_err(arrow)?,
            ),
            (Values::I64(v), _) => Arc::new(Int64Array::from(v)),
            (Values::Bool(v), _) => Arc::new(BooleanArray::from(v)),
            (Values::Image(pngs, _), Kind::Image { .. }) => {
                let n = pngs.len();
                let bytes: ArrayRef = Arc::new(BinaryArray::from_iter_values(pngs));
                let paths: ArrayRef = Arc::new(StringArray::new_null(n));
                Arc::new(
                    StructArray::try_new(image_fields(), vec![bytes, paths], None)
                        .map_err(arrow)?,
                )
            }
            _ => return Err(ExportError::OutOfRange("feature kind mismatch".into())),
        })
    }
}

/// Read one episode's features.
fn read_episode(
    file: &hdf5_pure::File,
    demo: &str,
    features: &[Feature],
    episode: u64,
    first_frame: u64,
    fps: f64,
) -> Result<(usize, Vec<Values>), ExportError> {
    let base = format!("data/{demo}");
    let (t, _) = shape2(file, &format!("{base}/actions"))?
        .ok_or_else(|| input_err(format!("{base}/actions is missing")))?;
    if t == 0 {
        return Err(input_err(format!("{base} has no steps")));
    }
    let mut out = Vec::with_capacity(features.len());
    for f in features {
        let v = match &f.source {
            Source::Datasets(paths) => {
                let mut parts = Vec::with_capacity(paths.len());
                for p in paths {
                    let path = format!("{base}/{p}");
                    let (rows, cols) = shape2(file, &path)?.ok_or_else(|| {
                        input_err(format!(
                            "{path} is missing (the first episode has it; every episode needs the same keys)"
                        ))
                    })?;
                    if rows != t {
                        return Err(input_err(format!(
                            "{path} has {rows} rows but {base}/actions has {t}"
                        )));
                    }
                    parts.push((cols, read_f64(file, &path)?));
                }
                let width: usize = parts.iter().map(|(c, _)| c).sum();
                if width != f.kind.width() {
                    return Err(input_err(format!(
                        "{base}: '{}' has {width} components here but {} in the first episode",
                        f.name,
                        f.kind.width()
                    )));
                }
                if let Some((k, p)) = parts
                    .iter()
                    .flat_map(|(_, v)| v.iter())
                    .enumerate()
                    .find(|(_, v)| !v.is_finite())
                {
                    return Err(input_err(format!(
                        "{base}: '{}' holds a non-finite value ({p}) at position {k}",
                        f.name
                    )));
                }
                match f.kind {
                    Kind::I64 => Values::I64(parts[0].1.iter().map(|&x| x as i64).collect()),
                    Kind::Bool => Values::Bool(parts[0].1.iter().map(|&x| x != 0.0).collect()),
                    Kind::F32(_) => {
                        let mut v = Vec::with_capacity(t * width);
                        for k in 0..t {
                            for (cols, data) in &parts {
                                v.extend(data[k * cols..(k + 1) * cols].iter().map(|&x| x as f32));
                            }
                        }
                        Values::F32(v)
                    }
                    Kind::Image { .. } => {
                        return Err(ExportError::OutOfRange("feature kind mismatch".into()))
                    }
                }
            }
            Source::Image(key) => {
                let Kind::Image { height, width } = f.kind else {
                    return Err(ExportError::OutOfRange("feature kind mismatch".into()));
                };
                let path = format!("{base}/{key}");
                let frame = height as usize * width as usize * 3;
                let shape = crate::demo::dataset_shape(file, &path).map_err(input_err)?;
                if shape.as_deref() != Some(&[t as u64, u64::from(height), u64::from(width), 3][..])
                {
                    return Err(input_err(format!(
                        "{path} must be ({t}, {height}, {width}, 3) like the first episode's, not {shape:?}"
                    )));
                }
                let pixels = file
                    .dataset(&path)
                    .and_then(|d| d.read_u8())
                    .map_err(|e| h5(&format!("reading {path}"), e))?;
                if pixels.len() != t * frame {
                    return Err(input_err(format!(
                        "{path} holds {} bytes, not {t} frames of {frame}",
                        pixels.len()
                    )));
                }
                let mut hist = Box::new(ChannelHistograms::new());
                hist.add_rgb(&pixels);
                let pngs = pixels
                    .chunks_exact(frame)
                    .map(|rgb| encode_png(rgb, width, height))
                    .collect::<Result<Vec<_>, _>>()?;
                Values::Image(pngs, hist)
            }
            Source::Done => {
                let d = read_f64(file, &format!("{base}/dones"))?;
                Values::Bool(d.iter().map(|&x| x != 0.0).collect())
            }
            Source::Timestamp => Values::F32((0..t).map(|k| (k as f64 / fps) as f32).collect()),
            Source::FrameIndex => Values::I64((0..t as i64).collect()),
            Source::EpisodeIndex => Values::I64(vec![episode as i64; t]),
            Source::Index => Values::I64((0..t as i64).map(|k| first_frame as i64 + k).collect()),
            Source::TaskIndex => Values::I64(vec![0; t]),
        };
        out.push(v);
    }
    Ok((t, out))
}

/// Linear-interpolation quantile of sorted values (numpy's default method).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// min, max, mean, std (population), quantiles of one component.
fn component_stats(mut v: Vec<f64>) -> [f64; 9] {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    v.sort_by(f64::total_cmp);
    let mut out = [0.0; 9];
    out[0] = v.first().copied().unwrap_or(0.0);
    out[1] = v.last().copied().unwrap_or(0.0);
    out[2] = mean;
    out[3] = var.sqrt();
    for (i, (_, q)) in QUANTILES.iter().enumerate() {
        out[4 + i] = quantile(&v, *q);
    }
    out
}

/// Statistics of one feature: `[stat][component]`, stat order min, max, mean, std, q...
struct FeatureStats {
    values: Vec<Vec<f64>>,
    count: u64,
}

fn feature_stats(columns: Vec<Vec<f64>>) -> FeatureStats {
    let count = columns.first().map_or(0, |c| c.len() as u64);
    let per: Vec<[f64; 9]> = columns.into_iter().map(component_stats).collect();
    FeatureStats {
        values: (0..9).map(|s| per.iter().map(|c| c[s]).collect()).collect(),
        count,
    }
}

const STAT_NAMES: [&str; 9] = [
    "min", "max", "mean", "std", "q01", "q10", "q50", "q90", "q99",
];

fn properties() -> WriterProperties {
    WriterProperties::builder()
        // pandas and LeRobot write snappy; it is pure Rust here, so the same in wasm.
        .set_compression(Compression::SNAPPY)
        .build()
}

fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(properties())).map_err(pq)?;
    w.write(batch).map_err(pq)?;
    w.close().map_err(pq)?;
    Ok(out)
}

/// A data file being filled.
struct DataFile {
    writer: ArrowWriter<Vec<u8>>,
    bytes: u64,
    chunk: u64,
    file: u64,
}

fn data_path(chunk: u64, file: u64) -> String {
    format!("data/chunk-{chunk:03}/file-{file:03}.parquet")
}

/// Convert a robomimic HDF5 file (its bytes) to a LeRobot v3.0 dataset.
pub fn robomimic_to_lerobot(
    hdf5: Vec<u8>,
    options: &LeRobotOptions,
) -> Result<LeRobotDataset, ExportError> {
    let file = hdf5_pure::File::from_bytes(hdf5).map_err(|e| h5("not a readable HDF5 file", e))?;
    let info = crate::demo::file_info(&file);
    let demos = demo_names(&file)?;
    let object_names: Option<Vec<String>> = file
        .group(&format!("data/{}", demos[0]))
        .and_then(|g| g.attrs())
        .ok()
        .and_then(|a| {
            a.get("dmgen_object_names")
                .and_then(|v| v.as_strings())
                .map(|v| v.to_vec())
        });
    let fps = match options.fps.or(info.control_freq) {
        Some(f) if f.is_finite() && f > 0.0 => f,
        Some(f) => return Err(input_err(format!("fps {f} must be positive"))),
        None => DEFAULT_FPS,
    };
    let task = match &options.task {
        Some(t) => t.clone(),
        None => info
            .task_id
            .as_deref()
            .or(info.env_name.as_deref())
            .and_then(|id| crate::task::Task::by_id(id).ok())
            .map(|t| t.description)
            .or_else(|| info.env_name.clone())
            .unwrap_or_else(|| "unknown task".into()),
    };
    let features = plan_features(&file, &demos[0], &info, object_names.as_deref())?;
    let schema = Arc::new(Schema::new(
        features
            .iter()
            .map(|f| Field::new(&f.name, f.kind.arrow_type(), false))
            .collect::<Vec<_>>(),
    ));
    let frame_bytes: u64 = features.iter().map(|f| f.kind.bytes()).sum();
    let limit = options.data_file_mb.max(1) * 1024 * 1024;

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut current: Option<DataFile> = None;
    let mut next_file = (0u64, 0u64);
    // What the dataset-wide statistics are computed from: every value of a numeric
    // feature, the channel histograms of an image feature.
    enum Acc {
        Columns(Vec<Vec<f64>>),
        Hist(Box<ChannelHistograms>, u64),
    }
    let mut all: Vec<Acc> = features
        .iter()
        .map(|f| match f.kind {
            Kind::Image { .. } => Acc::Hist(Box::new(ChannelHistograms::new()), 0),
            k => Acc::Columns(vec![Vec::new(); k.width()]),
        })
        .collect();
    struct EpisodeRow {
        length: u64,
        from: u64,
        chunk: u64,
        file: u64,
        stats: Vec<FeatureStats>,
    }
    let mut rows: Vec<EpisodeRow> = Vec::with_capacity(demos.len());
    let mut frames = 0u64;
    for (e, demo) in demos.iter().enumerate() {
        let (t, values) = read_episode(&file, demo, &features, e as u64, frames, fps)?;
        let mut stats = Vec::with_capacity(features.len());
        let mut size = frame_bytes * t as u64;
        for ((f, v), acc) in features.iter().zip(&values).zip(all.iter_mut()) {
            size += v.extra_bytes();
            match (v, acc) {
                (Values::Image(_, hist), Acc::Hist(total, n)) => {
                    total.merge(hist);
                    *n += t as u64;
                    stats.push(FeatureStats {
                        values: hist.stats(),
                        count: t as u64,
                    });
                }
                (_, Acc::Columns(acc)) => {
                    let cols: Vec<Vec<f64>> = (0..f.kind.width())
                        .map(|c| v.column(f.kind.width(), c))
                        .collect();
                    for (c, col) in cols.iter().enumerate() {
                        acc[c].extend_from_slice(col);
                    }
                    stats.push(feature_stats(cols));
                }
                _ => return Err(ExportError::OutOfRange("feature kind mismatch".into())),
            }
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            features
                .iter()
                .zip(values)
                .map(|(f, v)| v.into_arrow(f.kind))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .map_err(arrow)?;
        if current
            .as_ref()
            .is_some_and(|c| c.bytes > 0 && c.bytes + size > limit)
        {
            if let Some(done) = current.take() {
                files.push((
                    data_path(done.chunk, done.file),
                    done.writer.into_inner().map_err(pq)?,
                ));
            }
        }
        if current.is_none() {
            let (chunk, file_index) = next_file;
            current = Some(DataFile {
                writer: ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties()))
                    .map_err(pq)?,
                bytes: 0,
                chunk,
                file: file_index,
            });
            next_file = if file_index + 1 >= CHUNKS_SIZE {
                (chunk + 1, 0)
            } else {
                (chunk, file_index + 1)
            };
        }
        let Some(cur) = current.as_mut() else {
            return Err(ExportError::OutOfRange("no data file open".into()));
        };
        cur.writer.write(&batch).map_err(pq)?;
        cur.bytes += size;
        rows.push(EpisodeRow {
            length: t as u64,
            from: frames,
            chunk: cur.chunk,
            file: cur.file,
            stats,
        });
        frames += t as u64;
    }
    if let Some(done) = current.take() {
        files.push((
            data_path(done.chunk, done.file),
            done.writer.into_inner().map_err(pq)?,
        ));
    }
    let episodes = rows.len() as u64;

    // meta/episodes: one row per episode.
    let i64_col = |f: &dyn Fn(&EpisodeRow) -> u64| -> ArrayRef {
        Arc::new(Int64Array::from(
            rows.iter().map(|r| f(r) as i64).collect::<Vec<_>>(),
        ))
    };
    let mut tasks_col = ListBuilder::new(StringBuilder::new());
    for _ in &rows {
        tasks_col.values().append_value(&task);
        tasks_col.append(true);
    }
    let mut fields = vec![
        Field::new("episode_index", DataType::Int64, false),
        Field::new(
            "tasks",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("length", DataType::Int64, false),
        Field::new("data/chunk_index", DataType::Int64, false),
        Field::new("data/file_index", DataType::Int64, false),
        Field::new("dataset_from_index", DataType::Int64, false),
        Field::new("dataset_to_index", DataType::Int64, false),
        Field::new("meta/episodes/chunk_index", DataType::Int64, false),
        Field::new("meta/episodes/file_index", DataType::Int64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from((0..episodes as i64).collect::<Vec<_>>())),
        Arc::new(tasks_col.finish()),
        i64_col(&|r| r.length),
        i64_col(&|r| r.chunk),
        i64_col(&|r| r.file),
        i64_col(&|r| r.from),
        i64_col(&|r| r.from + r.length),
        i64_col(&|_| 0),
        i64_col(&|_| 0),
    ];
    for (j, f) in features.iter().enumerate() {
        for (s, stat) in STAT_NAMES.iter().enumerate() {
            let name = format!("stats/{}/{stat}", f.name);
            let column: ArrayRef = if matches!(f.kind, Kind::Image { .. }) {
                // Per channel, shaped (3, 1, 1) as LeRobot keeps image statistics.
                let mut b =
                    ListBuilder::new(ListBuilder::new(ListBuilder::new(Float64Builder::new())));
                for r in &rows {
                    for &v in &r.stats[j].values[s] {
                        b.values().values().values().append_value(v);
                        b.values().values().append(true);
                        b.values().append(true);
                    }
                    b.append(true);
                }
                Arc::new(b.finish())
            } else {
                let mut b = ListBuilder::new(Float64Builder::new());
                for r in &rows {
                    b.values().append_slice(&r.stats[j].values[s]);
                    b.append(true);
                }
                Arc::new(b.finish())
            };
            fields.push(Field::new(name, column.data_type().clone(), false));
            columns.push(column);
        }
        let mut b = ListBuilder::new(Int64Builder::new());
        for r in &rows {
            b.values().append_value(r.stats[j].count as i64);
            b.append(true);
        }
        fields.push(Field::new(
            format!("stats/{}/count", f.name),
            DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
            false,
        ));
        columns.push(Arc::new(b.finish()));
    }
    let episodes_batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(arrow)?;
    files.push((
        "meta/episodes/chunk-000/file-000.parquet".into(),
        parquet_bytes(&episodes_batch)?,
    ));

    // meta/tasks: the task string is the pandas index `task`, as LeRobot writes it. pandas
    // restores an index from the `pandas` entry of the Arrow schema's metadata (without it
    // `task` would be a column, and LeRobot's items would carry the task's number).
    let pandas = json!({
        "index_columns": ["task"],
        "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode",
                            "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
             "numpy_type": "int64", "metadata": null},
            {"name": "task", "field_name": "task", "pandas_type": "unicode",
             "numpy_type": "object", "metadata": null},
        ],
        "creator": {"library": "dmgen", "version": crate::version()},
    });
    let tasks_schema = Schema::new(vec![
        Field::new("task_index", DataType::Int64, false),
        Field::new("task", DataType::Utf8, false),
    ])
    .with_metadata([("pandas", pandas.to_string())]);
    let tasks_batch = RecordBatch::try_new(
        Arc::new(tasks_schema),
        vec![
            Arc::new(Int64Array::from(vec![0i64])),
            Arc::new(StringArray::from(vec![task.clone()])),
        ],
    )
    .map_err(arrow)?;
    files.push(("meta/tasks.parquet".into(), parquet_bytes(&tasks_batch)?));

    // meta/stats.json over all frames.
    let mut stats = Map::new();
    for (f, acc) in features.iter().zip(all) {
        let image = matches!(acc, Acc::Hist(..));
        let s = match acc {
            Acc::Columns(cols) => feature_stats(cols),
            Acc::Hist(hist, count) => FeatureStats {
                values: hist.stats(),
                count,
            },
        };
        let mut m = Map::new();
        for (k, stat) in STAT_NAMES.iter().enumerate() {
            let v = if image {
                json!(s.values[k].iter().map(|x| [[*x]]).collect::<Vec<_>>())
            } else {
                json!(s.values[k])
            };
            m.insert((*stat).into(), v);
        }
        m.insert("count".into(), json!([s.count]));
        stats.insert(f.name.clone(), Value::Object(m));
    }
    files.push((
        "meta/stats.json".into(),
        pretty(&Value::Object(stats)).into_bytes(),
    ));

    // meta/info.json.
    let mut feats = Map::new();
    for f in &features {
        feats.insert(
            f.name.clone(),
            json!({
                "dtype": f.kind.dtype(),
                "shape": f.kind.shape(),
                "names": f.names,
            }),
        );
    }
    let info_json = json!({
        "codebase_version": CODEBASE_VERSION,
        "robot_type": "panda",
        "total_episodes": episodes,
        "total_frames": frames,
        "total_tasks": 1,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": options.data_file_mb.max(1),
        "video_files_size_in_mb": 200,
        "fps": fps,
        "splits": {"train": format!("0:{episodes}")},
        "data_path": DATA_PATH,
        "video_path": null,
        "features": feats,
    });
    files.push(("meta/info.json".into(), pretty(&info_json).into_bytes()));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(LeRobotDataset {
        files,
        episodes,
        frames,
        task,
        fps,
    })
}

/// JSON with two-space indentation and keys in insertion order, ending in a newline.
fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// The files in a zip archive under the folder `root/`, stored (Parquet is already
/// compressed), with fixed timestamps and permissions so the bytes are reproducible.
pub fn zip_dataset(root: &str, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, ExportError> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let zerr = |e: zip::result::ZipError| ExportError::OutOfRange(format!("zip: {e}"));
    let root = root.trim_matches('/');
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
        .large_file(false);
    for (path, bytes) in files {
        let name = if root.is_empty() {
            path.clone()
        } else {
            format!("{root}/{path}")
        };
        let large = bytes.len() as u64 >= u32::MAX as u64;
        zw.start_file(name, opts.large_file(large)).map_err(zerr)?;
        zw.write_all(bytes)
            .map_err(|e| ExportError::OutOfRange(format!("zip: {e}")))?;
    }
    Ok(zw.finish().map_err(zerr)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{synthetic_dataset, ExportOptions};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn sample() -> LeRobotDataset {
        let h5 = synthetic_dataset(5, 30, ExportOptions::default()).unwrap();
        robomimic_to_lerobot(h5, &LeRobotOptions::default()).unwrap()
    }

    fn file<'a>(d: &'a LeRobotDataset, path: &str) -> &'a [u8] {
        &d.files
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("{path} missing"))
            .1
    }

    fn rows(bytes: &[u8]) -> i64 {
        let r = SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes)).unwrap();
        r.metadata().file_metadata().num_rows()
    }

    #[test]
    fn layout_totals_and_counts() {
        let d = sample();
        let names: Vec<&str> = d.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "data/chunk-000/file-000.parquet",
                "meta/episodes/chunk-000/file-000.parquet",
                "meta/info.json",
                "meta/stats.json",
                "meta/tasks.parquet"
            ]
        );
        assert_eq!((d.episodes, d.frames), (5, 150));
        assert_eq!(rows(file(&d, "data/chunk-000/file-000.parquet")), 150);
        assert_eq!(
            rows(file(&d, "meta/episodes/chunk-000/file-000.parquet")),
            5
        );
        assert_eq!(rows(file(&d, "meta/tasks.parquet")), 1);
        let info: Value = serde_json::from_slice(file(&d, "meta/info.json")).unwrap();
        assert_eq!(info["codebase_version"], "v3.0");
        assert_eq!(info["fps"], 20.0);
        assert_eq!(info["total_frames"], 150);
        assert_eq!(info["splits"]["train"], "0:5");
        let f = &info["features"];
        for k in [
            "timestamp",
            "frame_index",
            "episode_index",
            "index",
            "task_index",
        ] {
            assert_eq!(f[k]["shape"], json!([1]), "{k}");
        }
        assert_eq!(f["observation.state"]["shape"], json!([9]));
        assert_eq!(f["observation.environment_state"]["shape"], json!([23]));
        assert_eq!(f["action"]["names"][6], "gripper");
        assert_eq!(f["action_abs"]["names"][0], "x");
        assert_eq!(f["subtask_index"]["dtype"], "int64");
        let stats: Value = serde_json::from_slice(file(&d, "meta/stats.json")).unwrap();
        let fi = &stats["frame_index"];
        assert_eq!(fi["min"], json!([0.0]));
        assert_eq!(fi["max"], json!([29.0]));
        assert_eq!(fi["q50"], json!([14.5]));
        assert_eq!(fi["count"], json!([150]));
        assert_eq!(stats["index"]["max"], json!([149.0]));
        assert_eq!(stats["action"]["mean"].as_array().unwrap().len(), 7);
        // The gripper closes half-way through every synthetic episode.
        assert_eq!(stats["action"]["min"][6], -1.0);
        assert_eq!(stats["action"]["max"][6], 1.0);
    }

    #[test]
    fn data_files_roll_over_at_the_size_limit() {
        let h5 = synthetic_dataset(4, 3000, ExportOptions::default()).unwrap();
        let d = robomimic_to_lerobot(
            h5,
            &LeRobotOptions {
                data_file_mb: 1,
                ..Default::default()
            },
        )
        .unwrap();
        let data: Vec<&(String, Vec<u8>)> = d
            .files
            .iter()
            .filter(|(p, _)| p.starts_with("data/"))
            .collect();
        // ~3000 frames x ~300 bytes is ~0.9 MB per episode: one episode per file.
        assert_eq!(
            data.len(),
            4,
            "{:?}",
            d.files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        assert_eq!(data[3].0, "data/chunk-000/file-003.parquet");
        assert!(data.iter().all(|(_, b)| rows(b) == 3000));
    }

    #[test]
    fn conversion_is_deterministic_and_zips_reproducibly() {
        let a = sample();
        let b = sample();
        assert_eq!(a, b);
        let za = zip_dataset("ds", &a.files).unwrap();
        assert_eq!(za, zip_dataset("ds", &b.files).unwrap());
        assert_eq!(&za[..4], b"PK\x03\x04");
    }

    #[test]
    fn quantiles_follow_numpy_linear() {
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 5.0);
        assert!((quantile(&v, 0.01) - 0.1).abs() < 1e-12);
        assert!((quantile(&v, 0.99) - 9.9).abs() < 1e-12);
        let s = component_stats(vec![1.0, 3.0]);
        assert_eq!(&s[..4], &[1.0, 3.0, 2.0, 1.0]);
    }

    #[test]
    fn bad_input_is_refused_with_a_message() {
        let e = robomimic_to_lerobot(b"not hdf5".to_vec(), &LeRobotOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("HDF5"), "{e}");
        let h5 = synthetic_dataset(2, 5, ExportOptions::default()).unwrap();
        let e = robomimic_to_lerobot(
            h5,
            &LeRobotOptions {
                fps: Some(0.0),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("fps"), "{e}");
    }
}

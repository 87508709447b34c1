//! Demonstrations: the data model shared by every stage.
//!
//! A [`Demo`] is a time series sampled at the control rate (20 Hz for the
//! built-in demos, any strictly increasing timestamps for uploads) of:
//! - `t[k]`: seconds since the start, strictly increasing;
//! - `eef[k]`: end-effector (gripper centre point) pose in the task scene's frame;
//! - `gripper[k]`: gripper command in [0, 1], 0 = fully open, 1 = closed;
//! - `objects[j].poses[k]`: pose of every task object.
//!
//! All series have the same length `T`. The file readers and validation live in
//! this module too; they return [`DemoError`] and never panic on input.
//!
//! One file per format: [`json`] (this project's JSON), [`csv`], [`hdf5`] (robomimic /
//! MimicGen); their readers and writers are re-exported here. [`read_demo_auto`] sniffs the
//! format.

use crate::geom::Pose;
use serde::{Deserialize, Serialize};

/// One task object's pose track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectTrack {
    pub name: String,
    /// T poses, one per sample.
    pub poses: Vec<Pose>,
}

/// A demonstration in the task scene's frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Demo {
    /// Task id (`lift`, `stack`, ...) when the file says so.
    #[serde(default)]
    pub task: Option<String>,
    /// T timestamps in seconds.
    pub t: Vec<f64>,
    /// T end-effector poses.
    pub eef: Vec<Pose>,
    /// T gripper commands in [0, 1] (0 open, 1 closed).
    pub gripper: Vec<f64>,
    /// One track per task object.
    pub objects: Vec<ObjectTrack>,
    /// MimicGen `subtask_term_signals/<name>` when the source carried them (T values of 0/1 each).
    #[serde(default)]
    pub subtask_term_signals: Vec<(String, Vec<u8>)>,
}

impl Demo {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.t.len()
    }
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }
    /// Index of the object named `name`.
    pub fn object_index(&self, name: &str) -> Option<usize> {
        self.objects.iter().position(|o| o.name == name)
    }
}

use crate::geom::{Quat, Vec3};
use serde_json::{json, Map, Value};
use std::fmt;

/// Largest demo file the readers accept, in bytes (64 MiB). A 20 Hz demo of
/// several minutes with a dozen objects is well under 10 MB in any format.
pub const MAX_DEMO_BYTES: usize = 64 * 1024 * 1024;

/// Check a demo file's size before reading it: callers that know the size up front
/// (the page from `File.size`, the CLI from the file's metadata) refuse an oversized
/// file without loading it into memory.
pub fn check_demo_size(bytes: u64) -> Result<(), DemoError> {
    if bytes > MAX_DEMO_BYTES as u64 {
        return Err(DemoError::TooLarge {
            bytes: usize::try_from(bytes).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

/// A quaternion whose norm differs from 1 by more than this is an error;
/// closer ones are renormalised by [`Demo::validate`].
pub const QUAT_NORM_TOLERANCE: f64 = 1e-3;

/// The `format` tag of the project's JSON demo format.
pub const JSON_FORMAT: &str = "dmgen-demo/1";

/// Sample period assumed for HDF5 demos (robosuite's 20 Hz control rate), seconds.
pub const HDF5_DT: f64 = 0.05;

/// Everything that can be wrong with a demonstration file.
#[derive(Clone, Debug, PartialEq)]
pub enum DemoError {
    /// The file is larger than [`MAX_DEMO_BYTES`].
    TooLarge { bytes: usize },
    /// The JSON text does not parse.
    Json(String),
    /// The JSON `format` tag is missing or not [`JSON_FORMAT`].
    Format(String),
    /// A required field or column is absent.
    Missing(String),
    /// A value has the wrong type, shape or length.
    Shape {
        field: String,
        index: Option<usize>,
        msg: String,
    },
    /// A CSV line could not be read (1-based line number).
    Csv { line: usize, msg: String },
    /// The HDF5 file could not be read.
    Hdf5(String),
    /// The demo has no samples.
    Empty,
    /// A value is NaN or infinite.
    NonFinite { field: String, index: usize },
    /// `t[index] <= t[index - 1]`.
    NonMonotonicTime { index: usize },
    /// A quaternion's norm is too far from 1.
    QuatNorm {
        field: String,
        index: usize,
        norm: f64,
    },
    /// A gripper value outside [0, 1].
    GripperRange { index: usize, value: f64 },
    /// An object name is empty.
    EmptyObjectName { index: usize },
    /// Two objects have the same name.
    DuplicateObject(String),
    /// An object the task does not know.
    UnknownObject {
        name: String,
        known: Vec<String>,
        /// The demo's own object names (as the file has them, before any mapping).
        demo: Vec<String>,
    },
    /// `demo_index` is past the number of demos in the file.
    NoSuchDemo { index: usize, count: usize },
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoError::TooLarge { bytes } => write!(
                f,
                "demo file is {bytes} bytes, above the {MAX_DEMO_BYTES}-byte limit; trim it to one demo"
            ),
            DemoError::Json(m) => write!(f, "invalid JSON: {m}"),
            DemoError::Format(m) => write!(f, "unsupported demo format: {m}"),
            DemoError::Missing(field) => write!(f, "missing required field '{field}'"),
            DemoError::Shape { field, index, msg } => match index {
                Some(i) => write!(f, "field '{field}' at sample {i}: {msg}"),
                None => write!(f, "field '{field}': {msg}"),
            },
            DemoError::Csv { line, msg } => write!(f, "CSV line {line}: {msg}"),
            DemoError::Hdf5(m) => write!(f, "HDF5: {m}"),
            DemoError::Empty => write!(f, "the demo has no samples"),
            DemoError::NonFinite { field, index } => {
                write!(f, "field '{field}' at sample {index} is NaN or infinite")
            }
            DemoError::NonMonotonicTime { index } => write!(
                f,
                "field 't' at sample {index} is not after sample {}: timestamps must strictly increase",
                index.saturating_sub(1)
            ),
            DemoError::QuatNorm { field, index, norm } => write!(
                f,
                "field '{field}' at sample {index}: quaternion norm {norm:.6} is not 1 (tolerance {QUAT_NORM_TOLERANCE}); check the [x, y, z, w] order"
            ),
            DemoError::GripperRange { index, value } => write!(
                f,
                "field 'gripper' at sample {index}: {value} is outside [0, 1] (0 open, 1 closed)"
            ),
            DemoError::EmptyObjectName { index } => write!(f, "object {index} has an empty name"),
            DemoError::DuplicateObject(n) => write!(f, "object name '{n}' appears twice"),
            DemoError::UnknownObject { name, known, demo } => write!(
                f,
                "the demo's object '{name}' is not part of the task (the demo's objects: {}; the task's: {}); name it in the configuration's object_map, e.g. {{\"{name}\": \"{}\"}}",
                demo.join(", "),
                known.join(", "),
                known.first().map(String::as_str).unwrap_or("...")
            ),
            DemoError::NoSuchDemo { index, count } => {
                write!(f, "demo index {index} requested but the file holds {count} demo(s)")
            }
        }
    }
}

impl std::error::Error for DemoError {}

fn shape_err(field: &str, index: Option<usize>, msg: impl Into<String>) -> DemoError {
    DemoError::Shape {
        field: field.to_string(),
        index,
        msg: msg.into(),
    }
}

impl Demo {
    /// Check every invariant of the data model and renormalise quaternions whose
    /// norm is within [`QUAT_NORM_TOLERANCE`] of 1. Every reader calls this.
    ///
    /// Errors: zero length, series of different lengths, NaN/inf, non-increasing
    /// time, bad quaternions, gripper outside [0, 1], empty or duplicate object
    /// names, and signal tracks of the wrong length.
    pub fn validate(&mut self) -> Result<(), DemoError> {
        let n = self.t.len();
        if n == 0 {
            return Err(DemoError::Empty);
        }
        let len_err = |field: &str, got: usize| {
            shape_err(field, None, format!("has {got} samples but 't' has {n}"))
        };
        if self.eef.len() != n {
            return Err(len_err("eef", self.eef.len()));
        }
        if self.gripper.len() != n {
            return Err(len_err("gripper", self.gripper.len()));
        }
        for (i, &t) in self.t.iter().enumerate() {
            if !t.is_finite() {
                return Err(DemoError::NonFinite {
                    field: "t".into(),
                    index: i,
                });
            }
            if i > 0 && t <= self.t[i - 1] {
                return Err(DemoError::NonMonotonicTime { index: i });
            }
        }
        check_poses("eef", &mut self.eef)?;
        for (i, &g) in self.gripper.iter().enumerate() {
            if !g.is_finite() {
                return Err(DemoError::NonFinite {
                    field: "gripper".into(),
                    index: i,
                });
            }
            if !(0.0..=1.0).contains(&g) {
                return Err(DemoError::GripperRange { index: i, value: g });
            }
        }
        for (j, obj) in self.objects.iter_mut().enumerate() {
            if obj.name.trim().is_empty() {
                return Err(DemoError::EmptyObjectName { index: j });
            }
            let field = format!("objects.{}", obj.name);
            if obj.poses.len() != n {
                return Err(len_err(&field, obj.poses.len()));
            }
            check_poses(&field, &mut obj.poses)?;
        }
        for (j, a) in self.objects.iter().enumerate() {
            if self.objects[..j].iter().any(|b| b.name == a.name) {
                return Err(DemoError::DuplicateObject(a.name.clone()));
            }
        }
        for (name, sig) in &self.subtask_term_signals {
            let field = format!("subtask_term_signals.{name}");
            if sig.len() != n {
                return Err(len_err(&field, sig.len()));
            }
            if let Some(i) = sig.iter().position(|&v| v > 1) {
                return Err(shape_err(&field, Some(i), "signal values must be 0 or 1"));
            }
        }
        Ok(())
    }

    /// Error if an object is not in `known` (the task's object list).
    pub fn check_object_names(&self, known: &[&str]) -> Result<(), DemoError> {
        self.mapped_names(known, str::to_string).map(|_| ())
    }

    /// Rename every object to `rename(name)` (a demo recorded elsewhere, in the task's
    /// names), after checking that every new name is in `known` (the error names the
    /// file's objects as the file has them) and that no two objects share one.
    pub fn map_objects(
        &mut self,
        known: &[&str],
        rename: impl Fn(&str) -> String,
    ) -> Result<&mut Self, DemoError> {
        let mapped = self.mapped_names(known, rename)?;
        for (o, to) in self.objects.iter_mut().zip(mapped) {
            o.name = to;
        }
        Ok(self)
    }

    /// The objects' names after `rename`, checked as [`Demo::map_objects`] checks them.
    fn mapped_names(
        &self,
        known: &[&str],
        rename: impl Fn(&str) -> String,
    ) -> Result<Vec<String>, DemoError> {
        let mapped: Vec<String> = self.objects.iter().map(|o| rename(&o.name)).collect();
        for (o, to) in self.objects.iter().zip(&mapped) {
            if !known.contains(&to.as_str()) {
                return Err(DemoError::UnknownObject {
                    name: o.name.clone(),
                    known: known.iter().map(|s| s.to_string()).collect(),
                    demo: self.objects.iter().map(|o| o.name.clone()).collect(),
                });
            }
        }
        for (j, a) in mapped.iter().enumerate() {
            if mapped[..j].contains(a) {
                return Err(DemoError::DuplicateObject(a.clone()));
            }
        }
        Ok(mapped)
    }

    /// Move the demo rigidly into the scene: the source robot base `base` (x, y) with
    /// heading `yaw` (rad, about z) lands on the scene's base (the origin, facing +x) and
    /// the source table height `table_z` on `frame.table_z`. Positions and orientations
    /// turn alike, so every relative pose (a place goal) is kept.
    pub fn move_rigid(&mut self, base: [f64; 2], yaw: f64, table_z: f64, frame: &SceneFrame) {
        let turn = Quat::from_yaw(-yaw);
        let from = Vec3::new(base[0], base[1], table_z);
        let to = Vec3::new(0.0, 0.0, frame.table_z);
        let apply = |p: &mut Pose| {
            p.pos = turn.rotate(p.pos - from) + to;
            if yaw != 0.0 {
                p.quat = (turn * p.quat).normalized();
            }
        };
        self.eef.iter_mut().for_each(apply);
        for o in &mut self.objects {
            o.poses.iter_mut().for_each(apply);
        }
    }

    /// Translate the demo into the playground scene (see [`SceneFrame`]) and
    /// return the translation that was added to every position.
    ///
    /// - z: the source table height is `source_table_z` when given, otherwise it
    ///   is estimated as the lowest object centre at sample 0 minus
    ///   `frame.object_half_height`; the demo is shifted so that this height
    ///   lands on `frame.table_z`. Without objects and without a given height, z is
    ///   left unchanged.
    /// - x, y: the centroid of the objects at sample 0 moves to
    ///   `frame.workspace_center`; without objects, the end-effector's first
    ///   position does.
    ///
    /// No rotation is applied: both frames have z up and x pointing away from the robot.
    pub fn align_to_scene(&mut self, frame: &SceneFrame, source_table_z: Option<f64>) -> Vec3 {
        if self.is_empty() {
            return Vec3::ZERO;
        }
        let first: Vec<Vec3> = self
            .objects
            .iter()
            .filter_map(|o| o.poses.first().map(|p| p.pos))
            .collect();
        let (cx, cy, dz) = if first.is_empty() {
            let p = self.eef.first().map(|p| p.pos).unwrap_or(Vec3::ZERO);
            let dz = source_table_z.map(|z| frame.table_z - z).unwrap_or(0.0);
            (p.x(), p.y(), dz)
        } else {
            let k = first.len() as f64;
            let cx = first.iter().map(|p| p.x()).sum::<f64>() / k;
            let cy = first.iter().map(|p| p.y()).sum::<f64>() / k;
            let low = first.iter().map(|p| p.z()).fold(f64::INFINITY, f64::min);
            let src = source_table_z.unwrap_or(low - frame.object_half_height);
            (cx, cy, frame.table_z - src)
        };
        let d = Vec3::new(
            frame.workspace_center.x() - cx,
            frame.workspace_center.y() - cy,
            dz,
        );
        for p in &mut self.eef {
            p.pos += d;
        }
        for o in &mut self.objects {
            for p in &mut o.poses {
                p.pos += d;
            }
        }
        d
    }
}

fn check_poses(field: &str, poses: &mut [Pose]) -> Result<(), DemoError> {
    for (i, p) in poses.iter_mut().enumerate() {
        if !p.is_finite() {
            return Err(DemoError::NonFinite {
                field: field.to_string(),
                index: i,
            });
        }
        let n = p.quat.norm();
        if (n - 1.0).abs() > QUAT_NORM_TOLERANCE {
            return Err(DemoError::QuatNorm {
                field: field.to_string(),
                index: i,
                norm: n,
            });
        }
        p.quat = p.quat.normalized();
    }
    Ok(())
}

/// The playground scene's frame, in one place: z up, robot base at the origin,
/// table top at `table_z`, objects around `workspace_center`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneFrame {
    /// Height of the table surface, metres (default 0).
    pub table_z: f64,
    /// Where the objects' centroid sits at the start, metres (default (0.5, 0, 0)).
    pub workspace_center: Vec3,
    /// Half-height assumed for the lowest object when estimating the source
    /// table height, metres (default 0.025: a 5 cm cube).
    pub object_half_height: f64,
}

impl Default for SceneFrame {
    fn default() -> Self {
        SceneFrame {
            table_z: 0.0,
            workspace_center: Vec3::new(0.5, 0.0, 0.0),
            object_half_height: 0.025,
        }
    }
}

/// Table height in robosuite's world frame (MimicGen and D-MG demos), metres.
pub const ROBOSUITE_TABLE_Z: f64 = 0.8;

/// The 8 bytes every HDF5 file starts with.
pub const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

mod csv;
#[cfg(feature = "hdf5-read")]
mod hdf5;
mod json;
pub use self::csv::*;
#[cfg(feature = "hdf5-read")]
pub use self::hdf5::*;
pub use self::json::*;

/// Read a demo in any supported format. The format is sniffed from the bytes
/// (HDF5 signature, then a leading `{` for JSON, else CSV); `filename_hint` only
/// improves error messages. `demo_index` selects the demo in an HDF5 file.
pub fn read_demo_auto(
    bytes: &[u8],
    filename_hint: Option<&str>,
    demo_index: usize,
) -> Result<Demo, DemoError> {
    check_demo_size(bytes.len() as u64)?;
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    let r = if bytes.starts_with(HDF5_SIGNATURE) {
        read_hdf5(bytes, demo_index)
    } else if first == Some(b'{') {
        read_json_demo(bytes)
    } else {
        read_csv_demo(bytes)
    };
    r.map_err(|e| match (filename_hint, e) {
        (Some(name), DemoError::Format(m)) => DemoError::Format(format!("{name}: {m}")),
        (_, e) => e,
    })
}

/// A demo as read by one build, for another (the page's on-demand module reads HDF5 files
/// for its first module): every number exactly, nothing renormalised on the way back.
pub fn demo_transfer_json(demo: &Demo) -> String {
    serde_json::to_string(demo).unwrap_or_default()
}

/// The demo [`demo_transfer_json`] wrote. It is checked as every reader checks (on a
/// copy: validation renormalises quaternions, which would move their last bits).
pub fn read_demo_transfer(json: &str) -> Result<Demo, DemoError> {
    let demo: Demo = serde_json::from_str(json).map_err(|e| {
        DemoError::Format(format!(
            "not a demo handed over by the on-demand module: {e}"
        ))
    })?;
    demo.clone().validate()?;
    Ok(demo)
}

#[cfg(feature = "hdf5-read")]
fn read_hdf5(bytes: &[u8], demo_index: usize) -> Result<Demo, DemoError> {
    read_hdf5_demo(bytes, demo_index)
}

/// Without the `hdf5-read` feature (the page's first module) an HDF5 demo is read by the
/// build that has it (the page's on-demand module) and given to this one as JSON.
#[cfg(not(feature = "hdf5-read"))]
fn read_hdf5(_bytes: &[u8], _demo_index: usize) -> Result<Demo, DemoError> {
    Err(DemoError::Format(
        "this build does not read HDF5 files; read the demo with the on-demand module and pass it as JSON".into(),
    ))
}

/// Synthetic demonstrations for tests, fixtures and the built-in examples.
///
/// The test fixtures under `crate/tests/fixtures/` are written by
/// [`synth::write_fixtures`]; regenerate them with
/// `DMGEN_REGEN_FIXTURES=1 cargo test --lib fixtures_match_generator`.
pub mod synth {
    use super::{Demo, ObjectTrack};
    use crate::geom::{Pose, Quat, Vec3};
    use crate::rng::Rng;

    /// Minimum-jerk blend 0 -> 1.
    fn min_jerk(s: f64) -> f64 {
        let s = s.clamp(0.0, 1.0);
        s * s * s * (10.0 - 15.0 * s + 6.0 * s * s)
    }

    /// Gripper pointing down (tool z along world -z), rotated by `yaw` about world z.
    pub fn down(yaw: f64) -> Quat {
        (Quat::from_yaw(yaw) * Quat([1.0, 0.0, 0.0, 0.0])).normalized()
    }

    /// Parameters of the synthetic pick-and-place ("stack") demo.
    #[derive(Clone, Debug)]
    pub struct StackParams {
        /// Initial pose of the picked cube (centre), scene frame.
        pub pick: Pose,
        /// Initial pose of the base cube (centre).
        pub place: Pose,
        /// Cube half-size, metres.
        pub half: f64,
        /// Std of Gaussian noise added to eef positions (m) after generation.
        pub pos_noise: f64,
        /// Probability of flipping the gripper command at a single sample (glitches).
        pub gripper_glitch: f64,
        /// Seed for the noise.
        pub seed: u64,
    }

    impl Default for StackParams {
        fn default() -> Self {
            StackParams {
                pick: Pose::new(Vec3::new(0.5, -0.1, 0.025), Quat::from_yaw(0.3)),
                place: Pose::new(Vec3::new(0.5, 0.1, 0.025), Quat::from_yaw(-0.2)),
                half: 0.025,
                pos_noise: 0.0,
                gripper_glitch: 0.0,
                seed: 1,
            }
        }
    }

    /// Sample index of each phase boundary of [`stack_demo`]: the first closed
    /// sample and the first open-again sample.
    pub const STACK_CLOSE_AT: usize = 50;
    pub const STACK_OPEN_AT: usize = 120;
    /// Number of samples of [`stack_demo`].
    pub const STACK_LEN: usize = 140;

    /// A 20 Hz pick-and-place demo in the scene frame: approach above `pick`
    /// (30 samples), descend (15), close and wait (5), lift (15), carry above
    /// `place` (30), descend (15), open and wait (5 + retreat), retreat up.
    /// Object names `cubeA` (picked) and `cubeB`; task `stack`.
    pub fn stack_demo(p: &StackParams) -> Demo {
        let a0 = p.pick.pos;
        let b0 = p.place.pos;
        let start = Pose::new(Vec3::new(0.35, 0.0, 0.30), down(0.0));
        let yaw_a = p.pick.quat.yaw();
        let yaw_b = p.place.quat.yaw();
        let above_a = Pose::new(a0 + Vec3::new(0.0, 0.0, 0.12), down(yaw_a));
        let at_a = Pose::new(a0, down(yaw_a));
        let lifted = Pose::new(a0 + Vec3::new(0.0, 0.0, 0.15), down(yaw_a));
        let above_b = Pose::new(b0 + Vec3::new(0.0, 0.0, 2.0 * p.half + 0.12), down(yaw_b));
        let at_b = Pose::new(b0 + Vec3::new(0.0, 0.0, 2.0 * p.half + 0.002), down(yaw_b));
        let up_b = Pose::new(b0 + Vec3::new(0.0, 0.0, 2.0 * p.half + 0.10), down(yaw_b));
        // (target, samples, gripper during the phase)
        let phases: [(Pose, usize, f64); 9] = [
            (above_a, 30, 0.0),
            (at_a, 15, 0.0),
            (at_a, 5, 0.0),
            (at_a, 5, 1.0),
            (lifted, 15, 1.0),
            (above_b, 30, 1.0),
            (at_b, 15, 1.0),
            (at_b, 5, 0.0),
            (up_b, 20, 0.0),
        ];
        let mut eef = Vec::new();
        let mut gripper = Vec::new();
        let mut from = start;
        for (to, n, g) in phases {
            for i in 0..n {
                let s = min_jerk((i + 1) as f64 / n as f64);
                eef.push(from.interpolate(&to, s));
                gripper.push(g);
            }
            from = to;
        }
        let n = eef.len();
        debug_assert_eq!(n, STACK_LEN);
        // The picked cube follows the gripper between close and open.
        let mut a_track = Vec::with_capacity(n);
        let grasp_off = p.pick.relative_to(&eef[STACK_CLOSE_AT]);
        let mut a_now = p.pick;
        for (k, e) in eef.iter().enumerate() {
            if (STACK_CLOSE_AT..STACK_OPEN_AT).contains(&k) {
                a_now = e.compose(&grasp_off);
            }
            a_track.push(a_now);
        }
        let mut rng = Rng::new(p.seed);
        if p.pos_noise > 0.0 {
            for e in &mut eef {
                e.pos += Vec3::new(rng.normal(), rng.normal(), rng.normal()) * p.pos_noise;
            }
        }
        if p.gripper_glitch > 0.0 {
            for g in &mut gripper {
                if rng.bernoulli(p.gripper_glitch) {
                    *g = 1.0 - *g;
                }
            }
        }
        Demo {
            task: Some("stack".into()),
            t: (0..n).map(|k| k as f64 * 0.05).collect(),
            eef,
            gripper,
            objects: vec![
                ObjectTrack {
                    name: "cubeA".into(),
                    poses: a_track,
                },
                ObjectTrack {
                    name: "cubeB".into(),
                    poses: vec![p.place; n],
                },
            ],
            subtask_term_signals: Vec::new(),
        }
    }

    /// The stack demo moved into robosuite's world frame (table top at z = 0.8,
    /// table centre at x = 0, robot base near x = -0.56), with MimicGen's
    /// `grasp` subtask-termination signal (1 from the close sample on).
    pub fn stack_demo_robosuite() -> Demo {
        let mut d = stack_demo(&StackParams::default());
        let shift = Vec3::new(-0.5, 0.0, super::ROBOSUITE_TABLE_Z);
        for p in &mut d.eef {
            p.pos += shift;
        }
        for o in &mut d.objects {
            for p in &mut o.poses {
                p.pos += shift;
            }
        }
        let sig = (0..d.len())
            .map(|k| u8::from(k >= STACK_CLOSE_AT))
            .collect();
        d.subtask_term_signals = vec![("grasp".into(), sig)];
        d
    }

    /// The fixture files, as (file name, bytes): `stack.json`, `stack.csv`
    /// (scene frame) and `stack_mimicgen.hdf5` (robosuite frame, with signals).
    #[cfg(feature = "hdf5-read")]
    pub fn fixture_files() -> Result<Vec<(&'static str, Vec<u8>)>, super::DemoError> {
        let d = stack_demo(&StackParams::default());
        Ok(vec![
            ("stack.json", super::demo_to_json(&d).into_bytes()),
            ("stack.csv", super::demo_to_csv(&d).into_bytes()),
            (
                "stack_mimicgen.hdf5",
                super::demo_to_mimicgen_hdf5(&stack_demo_robosuite())?,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::synth::{stack_demo, stack_demo_robosuite, StackParams};
    use super::*;

    #[test]
    fn task_ids_from_environment_names() {
        for (env, task) in [
            ("lift", Some("lift")),
            ("Stack_D0", Some("stack")),
            ("Square_D2", Some("square")),
            ("NutAssemblySquare", Some("square")),
            ("pick_place", Some("pick_place")),
            ("dmgen/PickPlace-v0", Some("pick_place")),
            ("dmgen/Stack-v0", Some("stack")),
            ("dmgen/Stack-v", None),
            ("Coffee_D0", None),
            ("_d", None),
            ("", None),
        ] {
            assert_eq!(task_from_env_name(env).as_deref(), task, "{env}");
        }
    }

    fn demo() -> Demo {
        stack_demo(&StackParams::default())
    }

    fn assert_close_demo(a: &Demo, b: &Demo, tol: f64) {
        assert_eq!(a.len(), b.len());
        for k in 0..a.len() {
            assert!((a.t[k] - b.t[k]).abs() < tol);
            assert!((a.eef[k].pos - b.eef[k].pos).norm() < tol, "eef pos at {k}");
            assert!(
                a.eef[k].quat.angle_to(b.eef[k].quat) < 1e-6,
                "eef quat at {k}"
            );
            assert!((a.gripper[k] - b.gripper[k]).abs() < tol);
        }
        assert_eq!(a.objects.len(), b.objects.len());
        for (oa, ob) in a.objects.iter().zip(&b.objects) {
            assert_eq!(oa.name, ob.name);
            for k in 0..a.len() {
                assert!((oa.poses[k].pos - ob.poses[k].pos).norm() < tol);
                assert!(oa.poses[k].quat.angle_to(ob.poses[k].quat) < 1e-6);
            }
        }
    }

    fn json_with(f: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(&demo_to_json(&demo())).unwrap();
        f(&mut v);
        v.to_string().into_bytes()
    }

    #[test]
    fn json_roundtrip_is_exact() {
        let mut d = demo();
        d.subtask_term_signals = vec![(
            "grasp".into(),
            (0..d.len()).map(|k| u8::from(k > 60)).collect(),
        )];
        let back = read_json_demo(demo_to_json(&d).as_bytes()).unwrap();
        assert_close_demo(&d, &back, 1e-15);
        assert_eq!(back.subtask_term_signals, d.subtask_term_signals);
        assert_eq!(back.task.as_deref(), Some("stack"));
    }

    #[test]
    fn csv_roundtrip_derives_object_names() {
        let d = demo();
        let back = read_csv_demo(demo_to_csv(&d).as_bytes()).unwrap();
        assert_eq!(back.objects[0].name, "cubeA");
        assert_eq!(back.objects[1].name, "cubeB");
        assert_close_demo(&d, &back, 1e-15);
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let mut text = demo_to_csv(&demo());
        text = text.replacen("\n0.05,", "\n0.05x,", 1);
        match read_csv_demo(text.as_bytes()) {
            Err(DemoError::Csv { line: 3, msg }) => assert!(msg.contains("'t'"), "{msg}"),
            other => panic!("{other:?}"),
        }
        let bad_header = "t,eef_x,eef_y,eef_z,eef_qx,eef_qy,eef_qz,eef_qw,gripper,a_x,a_y\n";
        assert!(matches!(
            read_csv_demo(bad_header.as_bytes()),
            Err(DemoError::Csv { line: 1, .. })
        ));
        let short = "t,eef_x\n0,1\n";
        assert!(matches!(
            read_csv_demo(short.as_bytes()),
            Err(DemoError::Missing(_))
        ));
    }

    #[test]
    fn mimicgen_hdf5_roundtrip_with_signals() {
        let d = stack_demo_robosuite();
        let bytes = demo_to_mimicgen_hdf5(&d).unwrap();
        assert_eq!(list_hdf5_demos(&bytes).unwrap(), vec!["demo_0".to_string()]);
        let back = read_hdf5_demo(&bytes, 0).unwrap();
        assert_close_demo(&d, &back, 1e-12);
        assert_eq!(back.subtask_term_signals, d.subtask_term_signals);
        assert!(matches!(
            read_hdf5_demo(&bytes, 1),
            Err(DemoError::NoSuchDemo { index: 1, count: 1 })
        ));
    }

    fn plain_robomimic(names: &[&str], t: usize) -> Vec<u8> {
        use hdf5_pure::FileBuilder;
        let mut fb = FileBuilder::new();
        let mut data = fb.create_group("data");
        for (i, n) in names.iter().enumerate() {
            let mut ep = data.create_group(n);
            let mut obs = ep.create_group("obs");
            let pos: Vec<f64> = (0..t)
                .flat_map(|k| [0.1 * k as f64 + i as f64, 0.0, 1.0])
                .collect();
            let quat: Vec<f64> = (0..t).flat_map(|_| [1.0, 0.0, 0.0, 0.0]).collect();
            obs.create_dataset("robot0_eef_pos")
                .with_f64_data(&pos)
                .with_shape(&[t as u64, 3]);
            obs.create_dataset("robot0_eef_quat")
                .with_f64_data(&quat)
                .with_shape(&[t as u64, 4]);
            ep.add_group(obs.finish());
            let act: Vec<f64> = (0..t)
                .flat_map(|k| {
                    [
                        0.0,
                        0.0,
                        0.0,
                        0.0,
                        0.0,
                        0.0,
                        if k < t / 2 { -1.0 } else { 1.0 },
                    ]
                })
                .collect();
            ep.create_dataset("actions")
                .with_f64_data(&act)
                .with_shape(&[t as u64, 7]);
            data.add_group(ep.finish());
        }
        fb.add_group(data.finish());
        fb.finish().unwrap()
    }

    #[test]
    fn plain_robomimic_hdf5_reads_obs_and_actions_in_numeric_order() {
        let bytes = plain_robomimic(&["demo_10", "demo_2", "mask_x"], 6);
        assert_eq!(list_hdf5_demos(&bytes).unwrap(), vec!["demo_2", "demo_10"]);
        let d = read_hdf5_demo(&bytes, 1).unwrap();
        assert_eq!(d.len(), 6);
        assert!(
            (d.eef[0].pos.x() - 0.0).abs() < 1e-12,
            "demo_2 is index 0, demo_10 index 1"
        );
        let d0 = read_hdf5_demo(&bytes, 0).unwrap();
        assert!((d0.eef[0].pos.x() - 1.0).abs() < 1e-12);
        assert_eq!(d.gripper, vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        assert!((d.t[5] - 5.0 * HDF5_DT).abs() < 1e-12);
        assert!(d.objects.is_empty());
    }

    #[test]
    fn hdf5_wrong_shape_is_reported_with_the_dataset_path() {
        use hdf5_pure::FileBuilder;
        let mut fb = FileBuilder::new();
        let mut data = fb.create_group("data");
        let mut ep = data.create_group("demo_0");
        let mut dg = ep.create_group("datagen_info");
        dg.create_dataset("eef_pose")
            .with_f64_data(&[0.0; 12])
            .with_shape(&[1, 3, 4]);
        ep.add_group(dg.finish());
        data.add_group(ep.finish());
        fb.add_group(data.finish());
        let bytes = fb.finish().unwrap();
        match read_hdf5_demo(&bytes, 0) {
            Err(DemoError::Shape { field, .. }) => assert!(field.ends_with("eef_pose")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_hdf5_demo(b"\x89HDF\r\n\x1a\ngarbage", 0),
            Err(DemoError::Hdf5(_))
        ));
    }

    #[test]
    fn auto_sniffs_every_format() {
        let d = demo();
        let j = read_demo_auto(demo_to_json(&d).as_bytes(), Some("a.json"), 0).unwrap();
        let c = read_demo_auto(demo_to_csv(&d).as_bytes(), None, 0).unwrap();
        let h = read_demo_auto(&demo_to_mimicgen_hdf5(&d).unwrap(), None, 0).unwrap();
        assert_close_demo(&j, &c, 1e-15);
        assert_close_demo(&j, &h, 1e-12);
    }

    #[test]
    fn rejects_files_over_the_size_limit() {
        let big = vec![b' '; MAX_DEMO_BYTES + 1];
        assert!(matches!(
            read_demo_auto(&big, None, 0),
            Err(DemoError::TooLarge { .. })
        ));
    }

    #[test]
    fn rejects_missing_field_and_wrong_format() {
        let b = json_with(|v| {
            v.as_object_mut().unwrap().remove("eef_quat");
        });
        assert_eq!(
            read_json_demo(&b),
            Err(DemoError::Missing("eef_quat".into()))
        );
        let b = json_with(|v| v["format"] = json!("dmgen-demo/9"));
        assert!(matches!(read_json_demo(&b), Err(DemoError::Format(_))));
        assert!(matches!(read_json_demo(b"[1,2]"), Err(DemoError::Json(_))));
    }

    #[test]
    fn rejects_wrong_shape_naming_field_and_sample() {
        let b = json_with(|v| v["eef_pos"][7] = json!([1.0, 2.0]));
        match read_json_demo(&b) {
            Err(e @ DemoError::Shape { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("eef_pos") && msg.contains("sample 7"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_length_mismatch() {
        let b = json_with(|v| {
            v["gripper"].as_array_mut().unwrap().pop();
        });
        assert!(
            matches!(read_json_demo(&b), Err(DemoError::Shape { field, .. }) if field == "gripper")
        );
    }

    #[test]
    fn rejects_nan() {
        let mut d = demo();
        d.objects[1].poses[9].pos = Vec3::new(f64::NAN, 0.0, 0.0);
        assert_eq!(
            d.validate(),
            Err(DemoError::NonFinite {
                field: "objects.cubeB".into(),
                index: 9
            })
        );
        let text = demo_to_csv(&demo()).replacen("\n0.1,", "\nNaN,", 1);
        assert!(matches!(
            read_csv_demo(text.as_bytes()),
            Err(DemoError::NonFinite { index: 2, .. })
        ));
    }

    #[test]
    fn rejects_non_monotonic_time() {
        let mut d = demo();
        d.t[30] = d.t[29];
        assert_eq!(d.validate(), Err(DemoError::NonMonotonicTime { index: 30 }));
    }

    #[test]
    fn rejects_zero_length() {
        let b = json_with(|v| {
            for k in ["t", "eef_pos", "eef_quat", "gripper"] {
                v[k] = json!([]);
            }
            v["objects"] = json!([]);
        });
        assert_eq!(read_json_demo(&b), Err(DemoError::Empty));
    }

    #[test]
    fn quaternions_renormalised_within_tolerance_rejected_beyond() {
        let mut d = demo();
        let q = d.eef[3].quat.0;
        d.eef[3].quat = Quat([q[0] * 1.0005, q[1] * 1.0005, q[2] * 1.0005, q[3] * 1.0005]);
        d.validate().unwrap();
        assert!((d.eef[3].quat.norm() - 1.0).abs() < 1e-12);
        d.eef[4].quat = Quat([0.0, 0.0, 0.0, 0.9]);
        assert!(matches!(
            d.validate(),
            Err(DemoError::QuatNorm { index: 4, .. })
        ));
    }

    #[test]
    fn csv_gripper_in_robosuite_convention_is_detected_or_declared() {
        let demo = crate::demo::synth::stack_demo(&crate::demo::synth::StackParams::default());
        let text = demo_to_csv(&demo);
        // Rewrite the gripper column as robosuite's action (-1 open, +1 closed).
        let as_action = |header: &str| {
            let mut out = String::new();
            for (i, line) in text.lines().enumerate() {
                let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
                if i == 0 {
                    cells[8] = header.to_string();
                } else {
                    let g: f64 = cells[8].parse().unwrap();
                    cells[8] = (2.0 * g - 1.0).to_string();
                }
                out.push_str(&cells.join(","));
                out.push('\n');
            }
            out
        };
        for header in ["gripper", "gripper_action"] {
            let d = read_csv_demo(as_action(header).as_bytes()).unwrap();
            assert_eq!(d.gripper, demo.gripper, "{header}");
        }
        // Declared [0, 1] refuses robosuite values; values fitting neither name both.
        let e = read_csv_demo(as_action("gripper_01").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("outside [0, 1]"), "{e}");
        let line2: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
        let mut cells = line2.clone();
        cells[8] = "7";
        let bad = text.replacen(&line2.join(","), &cells.join(","), 1);
        let e = read_csv_demo(bad.as_bytes()).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("neither") && m.contains("[0, 1]") && m.contains("[-1, 1]"),
            "{m}"
        );
        assert!(m.contains("CSV line 2"), "{m}");
    }

    #[test]
    fn rejects_gripper_out_of_range() {
        let mut d = demo();
        d.gripper[5] = -1.0;
        assert_eq!(
            d.validate(),
            Err(DemoError::GripperRange {
                index: 5,
                value: -1.0
            })
        );
    }

    #[test]
    fn rejects_duplicate_empty_and_unknown_object_names() {
        let mut d = demo();
        d.objects[1].name = "cubeA".into();
        assert_eq!(
            d.validate(),
            Err(DemoError::DuplicateObject("cubeA".into()))
        );
        d.objects[1].name = " ".into();
        assert_eq!(d.validate(), Err(DemoError::EmptyObjectName { index: 1 }));
        let d = demo();
        assert!(d.check_object_names(&["cubeA", "cubeB"]).is_ok());
        assert!(
            matches!(d.check_object_names(&["cubeA"]), Err(DemoError::UnknownObject { name, .. }) if name == "cubeB")
        );
    }

    #[test]
    fn alignment_moves_a_robosuite_demo_into_the_scene() {
        let scene = demo();
        let mut rs = stack_demo_robosuite();
        // Put the scene demo's object centroid on the workspace centre first.
        let mut expected = scene.clone();
        expected.align_to_scene(&SceneFrame::default(), Some(0.0));
        let d = rs.align_to_scene(&SceneFrame::default(), None);
        assert!(
            (d.z() + ROBOSUITE_TABLE_Z).abs() < 1e-12,
            "table 0.8 -> 0: {d:?}"
        );
        assert_close_demo(&rs, &expected, 1e-12);
        // Objects rest on the table (z = half-size) and are centred on x = 0.5, y = 0.
        let c = (rs.objects[0].poses[0].pos + rs.objects[1].poses[0].pos) * 0.5;
        assert!((c.x() - 0.5).abs() < 1e-12 && c.y().abs() < 1e-12);
        assert!((rs.objects[1].poses[0].pos.z() - 0.025).abs() < 1e-12);
        // A given table height wins over the estimate.
        let mut rs2 = stack_demo_robosuite();
        let d2 = rs2.align_to_scene(&SceneFrame::default(), Some(0.9));
        assert!((d2.z() + 0.9).abs() < 1e-12);
    }

    #[test]
    fn fixtures_match_generator() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let files = synth::fixture_files().unwrap();
        if std::env::var_os("DMGEN_REGEN_FIXTURES").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in &files {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        for (name, bytes) in &files {
            let on_disk = std::fs::read(dir.join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}; regenerate with DMGEN_REGEN_FIXTURES=1"));
            let a = read_demo_auto(&on_disk, Some(name), 0).unwrap();
            let b = read_demo_auto(bytes, Some(name), 0).unwrap();
            assert_close_demo(&a, &b, 1e-12);
        }
    }
}

#[cfg(test)]
mod corrupt_input_tests {
    use super::*;

    /// Truncated or corrupted HDF5 files must give an error, not a panic.
    #[test]
    fn corrupted_hdf5_gives_errors() {
        let good =
            demo_to_mimicgen_hdf5(&synth::stack_demo(&synth::StackParams::default())).unwrap();
        let mut rng = crate::rng::Rng::new(99);
        let mut panics = 0;
        for i in 0..300 {
            let mut b = good.clone();
            if i % 2 == 0 {
                b.truncate(8 + rng.below(good.len() as u64 - 8) as usize);
            } else {
                for _ in 0..4 {
                    let k = 8 + rng.below(good.len() as u64 - 8) as usize;
                    b[k] = rng.next_u64() as u8;
                }
            }
            let r = std::panic::catch_unwind(|| read_demo_auto(&b, None, 0));
            if r.is_err() {
                panics += 1;
            }
        }
        assert_eq!(panics, 0);
    }
}

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

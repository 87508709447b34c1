//! The robomimic HDF5 writer: one file, streamed an episode at a time (layout in
//! `docs/dataset.md`).

use super::h5::{self, Attr, Block, Dtype, H5Error};
use super::*;
use crate::config::ActionConvention;

/// Options that change the file encoding (not its content).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExportOptions {
    /// gzip (deflate) level 1..=9 for every numeric dataset; `None` stores them contiguous
    /// and uncompressed (the default: fastest, and readable by every HDF5 reader).
    pub deflate_level: Option<u32>,
}

/// Builds one robomimic HDF5 file, an episode at a time, as a stream of bytes.
///
/// The file is `superblock ‖ output ‖ rest`: every [`add_episode`](Self::add_episode)
/// appends the episode's encoded bytes to a pending output that
/// [`take_output`](Self::take_output) hands over (to be appended to the file as they come),
/// and [`finish_streaming`](Self::finish_streaming) returns the remaining bytes and the
/// 48-byte superblock that goes at offset 0 (written last, it holds the file length and the
/// root group's address). [`finish`](Self::finish) does all of that in memory for a caller
/// that never took output.
pub struct DatasetWriter {
    env_args: String,
    config_json: String,
    valid_fraction: f64,
    actions: ActionConvention,
    subtask_names: Option<Vec<String>>,
    options: ExportOptions,
    /// `demo_<i>` names and the addresses of their group headers.
    demos: Vec<(String, u64)>,
    /// File offset of the first byte of `pending`.
    offset: u64,
    pending: Vec<u8>,
    taken: bool,
    total: u64,
    state_len: Option<usize>,
    cameras: crate::config::CameraSettings,
    /// The `object` key's layout, and the object names it is for (the task's).
    layout: ObjectLayout,
    layout_objects: Vec<String>,
}

impl std::fmt::Debug for DatasetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetWriter")
            .field("episodes", &self.demos.len())
            .field("total", &self.total)
            .finish()
    }
}

fn check_name(name: &str) -> Result<(), ExportError> {
    let bad = |message: &str| {
        Err(ExportError::BadName {
            name: name.to_string(),
            message: message.to_string(),
        })
    };
    if name.is_empty() || name == "." || name == ".." {
        return bad("names must be non-empty and not '.' or '..'");
    }
    if name.contains('/') || name.contains('\0') {
        return bad("names must not contain '/' or NUL (they become HDF5 group members)");
    }
    Ok(())
}

fn check_unique(names: &[String], what: &str, episode: usize) -> Result<(), ExportError> {
    if names.is_empty() {
        return Err(ExportError::Inconsistent {
            episode,
            message: format!("at least one {what} name is required"),
        });
    }
    for (i, n) in names.iter().enumerate() {
        check_name(n)?;
        if names[..i].contains(n) {
            return Err(ExportError::Inconsistent {
                episode,
                message: format!("{what} name '{n}' appears twice"),
            });
        }
    }
    Ok(())
}

fn unit_quat(
    q: &Quat,
    episode: usize,
    step: usize,
    field: &'static str,
) -> Result<Quat, ExportError> {
    if !q.is_finite() {
        return Err(ExportError::NonFinite {
            episode,
            step,
            field,
        });
    }
    let n = q.norm();
    if (n - 1.0).abs() > QUAT_NORM_TOLERANCE {
        return Err(ExportError::Inconsistent {
            episode,
            message: format!(
                "step {step}: {field} quaternion has norm {n}; poses must carry unit quaternions"
            ),
        });
    }
    Ok(q.normalized())
}

fn finite_pose(
    p: &Pose,
    episode: usize,
    step: usize,
    field: &'static str,
) -> Result<Pose, ExportError> {
    if !p.pos.is_finite() {
        return Err(ExportError::NonFinite {
            episode,
            step,
            field,
        });
    }
    Ok(Pose::new(p.pos, unit_quat(&p.quat, episode, step, field)?))
}

fn finite_all(
    v: &[f64],
    episode: usize,
    step: usize,
    field: &'static str,
) -> Result<(), ExportError> {
    if v.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(ExportError::NonFinite {
            episode,
            step,
            field,
        })
    }
}

/// Column buffers for one observation series (`obs` or `next_obs`).
#[derive(Default)]
struct ObsColumns {
    eef_pos: Vec<f64>,
    eef_quat: Vec<f64>,
    gripper_qpos: Vec<f64>,
    joint_pos: Vec<f64>,
    object: Vec<f64>,
}

impl ObsColumns {
    fn push(&mut self, eef: &Pose, o: &Observation, objects: &[Pose], layout: &ObjectLayout) {
        let columns = [
            &mut self.eef_pos,
            &mut self.eef_quat,
            &mut self.gripper_qpos,
            &mut self.joint_pos,
            &mut self.object,
        ];
        for (key, column) in super::LOW_DIM_KEYS.iter().zip(columns) {
            super::push_low_dim(key, eef, o, objects, layout, |x| {
                column.extend_from_slice(x)
            });
        }
    }
}

/// A checked observation: normalised quaternions, validated sizes.
/// One camera series of an episode: its dataset key, element type, frame shape and the
/// `T + 1` deflated chunks already placed in the file (`obs` takes frames `0..T`,
/// `next_obs` frames `1..=T`).
struct ImageSeries {
    key: String,
    dtype: Dtype,
    frame: Vec<u64>,
    chunks: Vec<(u64, u64)>,
}

struct CleanObs<'a> {
    raw: &'a Observation,
    eef: Pose,
    objects: Vec<Pose>,
}

impl DatasetWriter {
    /// A writer for a run of `config` (validated here) with default options.
    pub fn new(config: &GenerationConfig) -> Result<Self, ExportError> {
        Self::with_options(config, ExportOptions::default())
    }

    /// A writer with explicit encoding options.
    pub fn with_options(
        config: &GenerationConfig,
        options: ExportOptions,
    ) -> Result<Self, ExportError> {
        config.validate()?;
        let task = config
            .build_task()
            .map_err(|e| ExportError::OutOfRange(e.to_string()))?;
        if let Some(level) = options.deflate_level {
            if !(1..=9).contains(&level) {
                return Err(ExportError::OutOfRange(format!(
                    "deflate level {level} is out of range; use 1..=9 or None"
                )));
            }
        }
        Ok(DatasetWriter {
            env_args: env_args_json(config)?,
            config_json: config.to_canonical_json()?,
            valid_fraction: config.valid_fraction,
            actions: config.actions,
            subtask_names: None,
            options,
            demos: Vec::new(),
            offset: h5::SUPERBLOCK_LEN,
            pending: Vec::new(),
            taken: false,
            total: 0,
            state_len: None,
            cameras: config.cameras.clone(),
            layout: ObjectLayout::for_task(&task, OBJECT_LAYOUT),
            layout_objects: task.object_names(),
        })
    }

    /// Episodes added so far.
    pub fn episodes(&self) -> usize {
        self.demos.len()
    }

    /// Bytes of the file produced so far (superblock included).
    pub fn bytes_written(&self) -> u64 {
        self.offset + self.pending.len() as u64
    }

    /// The bytes encoded since the last call, to append to the file (the first call's
    /// bytes go right after the 48-byte superblock). After this, only
    /// [`finish_streaming`](Self::finish_streaming) can end the file.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.taken = true;
        self.offset += self.pending.len() as u64;
        std::mem::take(&mut self.pending)
    }

    /// Samples (control steps) added so far.
    pub fn total_samples(&self) -> u64 {
        self.total
    }

    fn clean_obs<'a>(
        &self,
        o: &'a Observation,
        episode: usize,
        step: usize,
        n_objects: usize,
        state_len: usize,
    ) -> Result<CleanObs<'a>, ExportError> {
        let eef = finite_pose(&o.eef, episode, step, "eef pose")?;
        finite_all(&o.finger_qpos, episode, step, "finger qpos")?;
        finite_all(&o.joint_pos, episode, step, "joint positions")?;
        finite_all(&o.state, episode, step, "state")?;
        if o.objects.len() != n_objects {
            return Err(ExportError::Inconsistent {
                episode,
                message: format!(
                    "step {step} has {} object poses but the episode names {n_objects} objects",
                    o.objects.len()
                ),
            });
        }
        if o.state.len() != state_len {
            return Err(ExportError::Inconsistent {
                episode,
                message: format!(
                    "step {step} has a state of length {} but the first step's has length {state_len}; the flattened state must keep one size",
                    o.state.len()
                ),
            });
        }
        let objects = o
            .objects
            .iter()
            .map(|p| finite_pose(p, episode, step, "object pose"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CleanObs {
            raw: o,
            eef,
            objects,
        })
    }

    /// Validate and encode one episode as `data/demo_<i>`, `i` = number of episodes added
    /// before it. Returns `i`. On error nothing is added.
    pub fn add_episode(&mut self, ep: &EpisodeRecord) -> Result<usize, ExportError> {
        self.add(ep, None)
    }

    /// Add a failed attempt (for a file of failures, like MimicGen's `demo_failed.hdf5`):
    /// the episode as far as it ran, with attributes `dmgen_failure_reason` (`reason`)
    /// and `dmgen_failure_step` (the step at which the attempt was stopped, `T - 1`).
    pub fn add_failed_episode(
        &mut self,
        ep: &EpisodeRecord,
        reason: &str,
    ) -> Result<usize, ExportError> {
        self.add(ep, Some(reason))
    }

    fn add(&mut self, ep: &EpisodeRecord, failure: Option<&str>) -> Result<usize, ExportError> {
        let index = self.demos.len();
        let t_len = ep.steps.len();
        if t_len == 0 {
            return Err(ExportError::EmptyEpisode { episode: index });
        }
        check_unique(&ep.object_names, "object", index)?;
        if ep.object_names != self.layout_objects {
            return Err(ExportError::Inconsistent {
                episode: index,
                message: format!(
                    "object names {:?} are not the task's {:?}",
                    ep.object_names, self.layout_objects
                ),
            });
        }
        check_unique(&ep.subtask_names, "subtask", index)?;
        let state_len = ep.steps[0].obs.state.len();
        if state_len == 0 {
            return Err(ExportError::Inconsistent {
                episode: index,
                message: "the flattened state is empty; record World::state() at every step".into(),
            });
        }
        if let Some(s) = self.state_len {
            if s != state_len {
                return Err(ExportError::Inconsistent {
                    episode: index,
                    message: format!(
                        "state length {state_len} differs from the first episode's {s}"
                    ),
                });
            }
        }
        let attempt = i64::try_from(ep.attempt).map_err(|_| {
            ExportError::OutOfRange(format!("attempt index {} exceeds i64::MAX", ep.attempt))
        })?;
        let n_obj = ep.object_names.len();
        let n_sub = ep.subtask_names.len();

        // Check everything first, so that a bad episode leaves the writer untouched.
        let mut clean = Vec::with_capacity(t_len + 1);
        for (k, s) in ep.steps.iter().enumerate() {
            clean.push(self.clean_obs(&s.obs, index, k, n_obj, state_len)?);
            if !s.reward.is_finite() {
                return Err(ExportError::NonFinite {
                    episode: index,
                    step: k,
                    field: "reward",
                });
            }
            if s.subtask >= n_sub {
                return Err(ExportError::Inconsistent {
                    episode: index,
                    message: format!(
                        "step {k} is in subtask {} but only {n_sub} subtask names are given",
                        s.subtask
                    ),
                });
            }
        }
        clean.push(self.clean_obs(&ep.final_obs, index, t_len, n_obj, state_len)?);
        if failure.is_none() {
            self.check_images(ep, index)?;
        }
        let mut targets = Vec::with_capacity(t_len);
        for (k, s) in ep.steps.iter().enumerate() {
            targets.push(finite_pose(&s.target, index, k, "target pose")?);
        }

        // Columns.
        let t = t_len as u64;
        let (actions, actions_abs) = super::action_columns(
            ep.steps
                .iter()
                .enumerate()
                .map(|(k, s)| (clean[k].eef, targets[k], s.gripper_closed)),
        );
        let mut states = Vec::with_capacity(t_len * state_len);
        let mut rewards = Vec::with_capacity(t_len);
        let mut dones = vec![0i64; t_len];
        dones[t_len - 1] = 1;
        let mut obs = ObsColumns::default();
        let mut next_obs = ObsColumns::default();
        let mut eef_pose = Vec::with_capacity(t_len * 16);
        let mut target_pose = Vec::with_capacity(t_len * 16);
        let mut gripper = Vec::with_capacity(t_len);
        let mut object_poses = vec![Vec::with_capacity(t_len * 16); n_obj];
        let mut signals = vec![vec![0i64; t_len]; n_sub];
        let subtask_index: Vec<i64> = ep.steps.iter().map(|s| s.subtask as i64).collect();
        for (k, s) in ep.steps.iter().enumerate() {
            let c = &clean[k];
            let next = &clean[k + 1];
            states.extend_from_slice(&c.raw.state);
            rewards.push(s.reward);
            obs.push(&c.eef, c.raw, &c.objects, &self.layout);
            next_obs.push(&next.eef, next.raw, &next.objects, &self.layout);
            eef_pose.extend(c.eef.to_mat4().iter().flatten());
            target_pose.extend(targets[k].to_mat4().iter().flatten());
            gripper.push(gripper_action(s.gripper_closed));
            for (j, p) in c.objects.iter().enumerate() {
                object_poses[j].extend(p.to_mat4().iter().flatten());
            }
            for (j, sig) in signals.iter_mut().enumerate() {
                sig[k] = i64::from(s.subtask > j);
            }
        }
        if ep.success {
            signals[n_sub - 1][t_len - 1] = 1;
        }

        let name = format!("demo_{index}");
        let z = self.options.deflate_level.map(|l| l as u8);
        let mut b = Block::new(self.bytes_written());
        let mut members = Vec::with_capacity(10);
        let mut put = |b: &mut Block, k: &str, v: &[f64], shape: &[u64]| -> Result<(), H5Error> {
            members.push((k.to_string(), b.f64s(v, shape, z)?));
            Ok(())
        };
        match self.actions {
            ActionConvention::Delta => {
                put(&mut b, "actions", &actions, &[t, 7])?;
                put(&mut b, "actions_abs", &actions_abs, &[t, 7])?;
            }
            ActionConvention::Abs => {
                put(&mut b, "actions", &actions_abs, &[t, 7])?;
                put(&mut b, "actions_delta", &actions, &[t, 7])?;
            }
        }
        put(&mut b, "states", &states, &[t, state_len as u64])?;
        put(&mut b, "rewards", &rewards, &[t])?;
        members.push(("dones".to_string(), b.i64s(&dones, &[t], z)?));
        // Camera frames: T + 1 chunks per series, placed once; `obs` indexes frames
        // 0..T and `next_obs` frames 1..=T of the same chunks.
        let mut images: Vec<ImageSeries> = Vec::new();
        if failure.is_none() {
            for c in &ep.images {
                let (hh, ww) = (u64::from(c.height), u64::from(c.width));
                images.push(ImageSeries {
                    key: format!("{}_image", c.camera),
                    dtype: Dtype::U8,
                    frame: vec![hh, ww, 3],
                    chunks: b.chunks(&c.rgb),
                });
                if !c.depth.is_empty() {
                    images.push(ImageSeries {
                        key: format!("{}_depth", c.camera),
                        dtype: Dtype::F32,
                        frame: vec![hh, ww, 1],
                        chunks: b.chunks(&c.depth),
                    });
                }
            }
        }
        let level = crate::camera::FRAME_DEFLATE_LEVEL;
        for (group_name, cols) in [("obs", &obs), ("next_obs", &next_obs)] {
            let mut sub = vec![
                (
                    "robot0_eef_pos".to_string(),
                    b.f64s(&cols.eef_pos, &[t, 3], z)?,
                ),
                (
                    "robot0_eef_quat".to_string(),
                    b.f64s(&cols.eef_quat, &[t, 4], z)?,
                ),
                (
                    "robot0_gripper_qpos".to_string(),
                    b.f64s(&cols.gripper_qpos, &[t, 2], z)?,
                ),
                (
                    "robot0_joint_pos".to_string(),
                    b.f64s(&cols.joint_pos, &[t, 7], z)?,
                ),
                (
                    "object".to_string(),
                    b.f64s(&cols.object, &[t, self.layout.width() as u64], z)?,
                ),
            ];
            let next = group_name == "next_obs";
            if !next || self.cameras.next_obs {
                for im in &images {
                    let frames = if next {
                        &im.chunks[1..]
                    } else {
                        &im.chunks[..t_len]
                    };
                    sub.push((
                        im.key.clone(),
                        b.framed(im.dtype, &im.frame, frames, level)?,
                    ));
                }
            }
            members.push((group_name.to_string(), b.group(&sub, &[])?));
        }
        let mut poses = Vec::with_capacity(n_obj);
        for (j, n) in ep.object_names.iter().enumerate() {
            poses.push((n.clone(), b.f64s(&object_poses[j], &[t, 4, 4], z)?));
        }
        let mut sigs = Vec::with_capacity(n_sub);
        for (j, n) in ep.subtask_names.iter().enumerate() {
            sigs.push((n.clone(), b.i64s(&signals[j], &[t], z)?));
        }
        let datagen = vec![
            ("eef_pose".to_string(), b.f64s(&eef_pose, &[t, 4, 4], z)?),
            (
                "target_pose".to_string(),
                b.f64s(&target_pose, &[t, 4, 4], z)?,
            ),
            ("gripper_action".to_string(), b.f64s(&gripper, &[t, 1], z)?),
            ("object_poses".to_string(), b.group(&poses, &[])?),
            ("subtask_term_signals".to_string(), b.group(&sigs, &[])?),
            (
                "subtask_index".to_string(),
                b.i64s(&subtask_index, &[t], z)?,
            ),
        ];
        members.push(("datagen_info".to_string(), b.group(&datagen, &[])?));
        let mut attrs = vec![
            ("num_samples", Attr::I64(t_len as i64)),
            ("dmgen_attempt", Attr::I64(attempt)),
            ("dmgen_seed", Attr::U64(ep.seed)),
            ("dmgen_success", Attr::I64(i64::from(ep.success))),
            (
                "dmgen_object_names",
                Attr::StrArray(ep.object_names.clone()),
            ),
            (
                "dmgen_subtask_names",
                Attr::StrArray(ep.subtask_names.clone()),
            ),
        ];
        if let Some(reason) = failure {
            attrs.push(("dmgen_failure_reason", Attr::Str(reason.to_string())));
            attrs.push(("dmgen_failure_step", Attr::I64(t_len as i64 - 1)));
        }
        let addr = b.group(&members, &attrs)?;
        self.pending.extend_from_slice(&b.into_bytes());

        self.demos.push((name, addr));
        self.total += t;
        if self.subtask_names.is_none() {
            self.subtask_names = Some(ep.subtask_names.clone());
        }
        self.state_len = Some(state_len);
        Ok(index)
    }

    /// A successful episode carries exactly the configured cameras' frames.
    fn check_images(&self, ep: &EpisodeRecord, episode: usize) -> Result<(), ExportError> {
        let c = &self.cameras;
        let bad = |message: String| Err(ExportError::Inconsistent { episode, message });
        let names: Vec<&str> = ep.images.iter().map(|f| f.camera.as_str()).collect();
        if names != c.names.iter().map(String::as_str).collect::<Vec<_>>() {
            return bad(format!(
                "the episode has images from cameras {names:?} but the configuration records {:?}",
                c.names
            ));
        }
        let frames = ep.steps.len() + 1;
        for f in &ep.images {
            if (f.width, f.height) != (c.width, c.height) {
                return bad(format!(
                    "camera {} has {}x{} images, the configuration {}x{}",
                    f.camera, f.width, f.height, c.width, c.height
                ));
            }
            let depth = if c.depth { frames } else { 0 };
            if f.rgb.len() != frames || f.depth.len() != depth {
                return bad(format!(
                    "camera {} has {} images and {} depth maps for {} observations (steps and the final one)",
                    f.camera,
                    f.rgb.len(),
                    f.depth.len(),
                    frames
                ));
            }
        }
        Ok(())
    }

    /// The demo names that the file lists in `mask/train` and `mask/valid`.
    pub fn split(&self) -> (Vec<String>, Vec<String>) {
        let valid = valid_split(self.demos.len(), self.valid_fraction);
        let mut tr = Vec::new();
        let mut va = Vec::new();
        for ((n, _), v) in self.demos.iter().zip(valid) {
            if v {
                va.push(n.clone());
            } else {
                tr.push(n.clone());
            }
        }
        (tr, va)
    }

    /// Write the `data` group (its attributes and links to every episode), the masks and
    /// the root group. Returns the bytes to append after all output taken so far, and the
    /// superblock to write at offset 0. A run with no episodes gives a valid file with
    /// `total = 0` and empty masks.
    pub fn finish_streaming(
        mut self,
        stats: &GenerationStats,
    ) -> Result<(Vec<u8>, [u8; h5::SUPERBLOCK_LEN as usize]), ExportError> {
        let (train, valid) = self.split();
        let total = i64::try_from(self.total)
            .map_err(|_| ExportError::OutOfRange("more than i64::MAX samples".into()))?;
        let mut b = Block::new(self.bytes_written());
        let data = b.group(
            &self.demos,
            &[
                ("total", Attr::I64(total)),
                ("env_args", Attr::Str(std::mem::take(&mut self.env_args))),
                (
                    "dmgen_config",
                    Attr::Str(std::mem::take(&mut self.config_json)),
                ),
                ("dmgen_stats", Attr::Str(stats.to_canonical_json())),
                (
                    "dmgen_actions",
                    Attr::Str(self.actions.as_str().to_string()),
                ),
                (
                    "dmgen_subtask_names",
                    Attr::StrArray(self.subtask_names.take().unwrap_or_default()),
                ),
                (
                    "dmgen_obs_layout",
                    Attr::I64(i64::from(self.layout.version)),
                ),
                (
                    "dmgen_object_columns",
                    Attr::Str(
                        serde_json::to_string(&self.layout.columns())
                            .map_err(|e| ExportError::Hdf5(e.to_string()))?,
                    ),
                ),
            ],
        )?;
        // Fixed-width ASCII like robomimic's `np.array(names, dtype="S")`.
        let masks = vec![
            ("train".to_string(), b.ascii_strings(&train)?),
            ("valid".to_string(), b.ascii_strings(&valid)?),
        ];
        let mask = b.group(&masks, &[])?;
        let root = b.group(
            &[("data".to_string(), data), ("mask".to_string(), mask)],
            &[],
        )?;
        let eof = b.end();
        let mut rest = std::mem::take(&mut self.pending);
        rest.extend_from_slice(&b.into_bytes());
        Ok((rest, h5::superblock(eof, root)))
    }

    /// The whole file in memory, for a writer whose output was never taken.
    pub fn finish(self, stats: &GenerationStats) -> Result<Vec<u8>, ExportError> {
        if self.taken {
            return Err(ExportError::OutOfRange(
                "part of the file was already taken with take_output; end it with finish_streaming"
                    .into(),
            ));
        }
        let (rest, sb) = self.finish_streaming(stats)?;
        let mut file = Vec::with_capacity(sb.len() + rest.len());
        file.extend_from_slice(&sb);
        file.extend_from_slice(&rest);
        Ok(file)
    }
}

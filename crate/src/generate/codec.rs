//! Binary encoding of an [`Attempt`]: how a web worker hands an episode to the page.
//!
//! Exact (every `f64` as its 8 little-endian bytes), compact, and strictly checked on
//! decode: a truncated or corrupted buffer is an error, never a panic or a huge
//! allocation. Layout (all integers little-endian):
//!
//! ```text
//! "DMGA" u16 version=2
//! u64 index, u8 success, u8 failure code (0 = none), u64 seed
//! u32 n_objects, then per object: u32 len + UTF-8 name
//! u32 n_subtasks, then per subtask: u32 len + UTF-8 name
//! u32 state_len, u32 n_steps
//! per step: observation, target pose (7 f64), u8 gripper, f64 reward, u32 subtask
//! final observation
//! u32 n_cameras, then per camera: u32 len + UTF-8 name, u32 width, u32 height,
//!   u32 n_frames, u8 depth (0/1), per frame: u32 len + zlib RGB [, u32 len + zlib depth]
//! observation = eef (7 f64), finger qpos (2), joints (7), objects (7 each), state
//! pose = x y z qx qy qz qw
//! ```

use super::{Attempt, FailureReason};
use crate::export::{CameraFrames, EpisodeRecord, Observation, StepRecord};
use crate::geom::{Pose, Quat, Vec3};

const MAGIC: &[u8; 4] = b"DMGA";
const VERSION: u16 = 2;

/// What is wrong with an encoded attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError(pub String);

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: usize) {
        self.0.extend_from_slice(&(v as u32).to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn pose(&mut self, p: &Pose) {
        for v in p.pos.0.iter().chain(p.quat.0.iter()) {
            self.f64(*v);
        }
    }
    fn obs(&mut self, o: &Observation) {
        self.pose(&o.eef);
        o.finger_qpos.iter().for_each(|v| self.f64(*v));
        o.joint_pos.iter().for_each(|v| self.f64(*v));
        o.objects.iter().for_each(|p| self.pose(p));
        o.state.iter().for_each(|v| self.f64(*v));
    }
}

/// Encode an attempt. Every observation must have the episode's object count and
/// one state length (the generator guarantees it).
pub fn encode(a: &Attempt) -> Vec<u8> {
    let e = &a.episode;
    let state_len = e
        .steps
        .first()
        .map(|s| s.obs.state.len())
        .unwrap_or(e.final_obs.state.len());
    let mut o = Out(Vec::with_capacity(
        64 + e.steps.len() * (8 * (40 + state_len)),
    ));
    o.0.extend_from_slice(MAGIC);
    o.0.extend_from_slice(&VERSION.to_le_bytes());
    o.u64(a.index);
    o.u8(u8::from(a.success));
    o.u8(a.failure.map(|f| f.code()).unwrap_or(0));
    o.u64(e.seed);
    o.u32(e.object_names.len());
    e.object_names.iter().for_each(|s| o.str(s));
    o.u32(e.subtask_names.len());
    e.subtask_names.iter().for_each(|s| o.str(s));
    o.u32(state_len);
    o.u32(e.steps.len());
    for s in &e.steps {
        o.obs(&s.obs);
        o.pose(&s.target);
        o.u8(u8::from(s.gripper_closed));
        o.f64(s.reward);
        o.u32(s.subtask);
    }
    o.obs(&e.final_obs);
    o.u32(e.images.len());
    for c in &e.images {
        o.str(&c.camera);
        o.u32(c.width as usize);
        o.u32(c.height as usize);
        o.u32(c.rgb.len());
        let depth = !c.depth.is_empty();
        o.u8(u8::from(depth));
        for (k, f) in c.rgb.iter().enumerate() {
            o.u32(f.len());
            o.0.extend_from_slice(f);
            if let Some(d) = c.depth.get(k).filter(|_| depth) {
                o.u32(d.len());
                o.0.extend_from_slice(d);
            }
        }
    }
    o.0
}

struct In<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        match end {
            Some(e) => {
                let s = &self.b[self.at..e];
                self.at = e;
                Ok(s)
            }
            None => Err(CodecError(format!(
                "truncated at byte {} (needed {n} more bytes, {} left)",
                self.at,
                self.b.len() - self.at
            ))),
        }
    }
    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<usize, CodecError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }
    fn u64(&mut self) -> Result<u64, CodecError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn f64(&mut self) -> Result<f64, CodecError> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn remaining(&self) -> usize {
        self.b.len() - self.at
    }
    /// A count of items of at least `min_bytes` each, bounded by what is left.
    fn count(&mut self, min_bytes: usize, what: &str) -> Result<usize, CodecError> {
        let n = self.u32()?;
        if n.saturating_mul(min_bytes.max(1)) > self.remaining() {
            return Err(CodecError(format!(
                "{what} count {n} does not fit in the {} bytes left",
                self.remaining()
            )));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, CodecError> {
        let n = self.count(1, "string length")?;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| CodecError("a name is not valid UTF-8".into()))
    }
    fn pose(&mut self) -> Result<Pose, CodecError> {
        let mut v = [0.0; 7];
        for x in &mut v {
            *x = self.f64()?;
        }
        Ok(Pose::new(
            Vec3::new(v[0], v[1], v[2]),
            Quat([v[3], v[4], v[5], v[6]]),
        ))
    }
    fn obs(&mut self, n_obj: usize, state_len: usize) -> Result<Observation, CodecError> {
        let eef = self.pose()?;
        let finger_qpos = [self.f64()?, self.f64()?];
        let mut joint_pos = [0.0; 7];
        for j in &mut joint_pos {
            *j = self.f64()?;
        }
        let objects = (0..n_obj)
            .map(|_| self.pose())
            .collect::<Result<Vec<_>, _>>()?;
        let state = (0..state_len)
            .map(|_| self.f64())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Observation {
            eef,
            finger_qpos,
            joint_pos,
            objects,
            state,
        })
    }
}

/// Decode [`encode`]'s output.
pub fn decode(bytes: &[u8]) -> Result<Attempt, CodecError> {
    let mut r = In { b: bytes, at: 0 };
    if r.take(4)? != MAGIC {
        return Err(CodecError("not an encoded attempt (bad magic)".into()));
    }
    let v = r.take(2)?;
    let version = u16::from_le_bytes([v[0], v[1]]);
    if version != VERSION {
        return Err(CodecError(format!(
            "attempt encoding version {version} is not supported (expected {VERSION})"
        )));
    }
    let index = r.u64()?;
    let success = match r.u8()? {
        0 => false,
        1 => true,
        x => return Err(CodecError(format!("success flag {x} is not 0 or 1"))),
    };
    let failure = match r.u8()? {
        0 => None,
        c => Some(
            FailureReason::from_code(c)
                .ok_or_else(|| CodecError(format!("unknown failure code {c}")))?,
        ),
    };
    if success == failure.is_some() {
        return Err(CodecError(
            "success flag and failure reason disagree".into(),
        ));
    }
    let seed = r.u64()?;
    let n_obj = r.count(4, "object")?;
    let object_names = (0..n_obj).map(|_| r.str()).collect::<Result<Vec<_>, _>>()?;
    let n_sub = r.count(4, "subtask")?;
    let subtask_names = (0..n_sub).map(|_| r.str()).collect::<Result<Vec<_>, _>>()?;
    let state_len = r.u32()?;
    let obs_bytes = 8usize
        .saturating_mul(7 + 2 + 7 + 7 * n_obj)
        .saturating_add(8usize.saturating_mul(state_len));
    let step_bytes = obs_bytes.saturating_add(7 * 8 + 1 + 8 + 4);
    let n_steps = r.count(step_bytes, "step")?;
    let mut steps = Vec::with_capacity(n_steps);
    for _ in 0..n_steps {
        let obs = r.obs(n_obj, state_len)?;
        let target = r.pose()?;
        let gripper_closed = r.u8()? != 0;
        let reward = r.f64()?;
        let subtask = r.u32()?;
        if n_sub > 0 && subtask >= n_sub {
            return Err(CodecError(format!(
                "step subtask index {subtask} is past the {n_sub} subtasks"
            )));
        }
        steps.push(StepRecord {
            obs,
            target,
            gripper_closed,
            reward,
            subtask,
        });
    }
    let final_obs = r.obs(n_obj, state_len)?;
    let n_cam = r.count(4 + 4 + 4 + 4 + 1, "camera")?;
    let mut images = Vec::with_capacity(n_cam);
    for _ in 0..n_cam {
        let camera = r.str()?;
        let width = r.u32()? as u32;
        let height = r.u32()? as u32;
        let n_frames = r.count(4, "frame")?;
        let depth = match r.u8()? {
            0 => false,
            1 => true,
            x => return Err(CodecError(format!("depth flag {x} is not 0 or 1"))),
        };
        let mut frames = CameraFrames {
            camera,
            width,
            height,
            rgb: Vec::with_capacity(n_frames),
            depth: Vec::new(),
        };
        for _ in 0..n_frames {
            let n = r.count(1, "image byte")?;
            frames.rgb.push(r.take(n)?.to_vec());
            if depth {
                let n = r.count(1, "depth byte")?;
                frames.depth.push(r.take(n)?.to_vec());
            }
        }
        images.push(frames);
    }
    if r.remaining() != 0 {
        return Err(CodecError(format!(
            "{} unexpected bytes after the episode",
            r.remaining()
        )));
    }
    Ok(Attempt {
        index,
        success,
        failure,
        episode: EpisodeRecord {
            attempt: index,
            seed,
            success,
            object_names,
            subtask_names,
            steps,
            final_obs,
            images,
        },
    })
}

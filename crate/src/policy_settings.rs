//! The settings of policy training and evaluation, and their errors: compiled in every
//! build (the page's main module validates them and carries them in share links, see
//! [`crate::link`]), while training and evaluation themselves ([`crate::policy`], feature
//! `learn`) live in the module the page loads on demand.

use crate::config::{DynamicsParams, GenerationConfig, Geometry, ResetLevel, Variant};
use serde::{Deserialize, Serialize};

/// robomimic's low-dim observation keys that D-MG's and MimicGen's released configs use.
pub const DEFAULT_OBS_KEYS: [&str; 4] = [
    "robot0_eef_pos",
    "robot0_eef_quat",
    "robot0_gripper_qpos",
    "object",
];

/// Everything that stops training, loading or evaluating a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyError {
    /// The dataset cannot be trained on (missing keys, shapes, truncated, empty).
    Data(String),
    /// The training or evaluation settings are out of range.
    Config(String),
    /// A policy file that cannot be loaded.
    File(String),
    /// The tensor library failed.
    Backend(String),
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyError::Data(m) => write!(f, "dataset: {m}"),
            PolicyError::Config(m) => write!(f, "settings: {m}"),
            PolicyError::File(m) => write!(f, "policy file: {m}"),
            PolicyError::Backend(m) => write!(f, "tensor library: {m}"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// The learning algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algo {
    /// robomimic BC: an MLP from one observation to one action.
    Bc,
    /// robomimic BC-RNN: an LSTM over `seq_len` steps.
    BcRnn,
    /// BC with action chunks: an MLP from the last `obs_horizon` observations to the next
    /// `chunk` actions, of which `exec` are executed before predicting again.
    #[default]
    BcChunk,
    /// Diffusion Policy: a denoiser draws the next `chunk` actions from noise.
    Diffusion,
}

impl Algo {
    pub const ALL: [Algo; 4] = [Algo::Bc, Algo::BcRnn, Algo::BcChunk, Algo::Diffusion];

    pub fn as_str(&self) -> &'static str {
        match self {
            Algo::Bc => "bc",
            Algo::BcRnn => "bc_rnn",
            Algo::BcChunk => "bc_chunk",
            Algo::Diffusion => "diffusion",
        }
    }
    pub fn from_id(id: &str) -> Option<Algo> {
        Algo::ALL.into_iter().find(|a| a.as_str() == id)
    }
    /// How tables name it.
    pub fn label(&self) -> &'static str {
        match self {
            Algo::Bc => "BC",
            Algo::BcRnn => "BC-RNN",
            Algo::BcChunk => "Chunked BC",
            Algo::Diffusion => "Diffusion Policy",
        }
    }
    /// Whether it predicts chunks of actions from a window of observations.
    pub fn chunked(&self) -> bool {
        matches!(self, Algo::BcChunk | Algo::Diffusion)
    }
}

/// The learning rate over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The same rate throughout (robomimic's BC and BC-RNN).
    Constant,
    /// A linear warm-up over `warmup` steps, then a cosine decay to 0 at the last step
    /// (Diffusion Policy's).
    #[default]
    Cosine,
}

/// Largest training budget, in gradient steps.
pub const MAX_TRAIN_STEPS: u64 = 10_000_000;

/// Training settings (serde; part of a share link).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub algo: Algo,
    /// The training budget in gradient steps, 1..=10,000,000 (the same for every arm of
    /// a comparison, whatever the size of its data).
    pub steps: u64,
    /// A budget in passes over the training split instead (1..=10000; older links): when
    /// set, `steps` is derived from it and the data's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u32>,
    /// Samples (BC) or sequences (BC-RNN) per gradient step, 1..=4096.
    pub batch_size: u32,
    /// AdamW learning rate, (0, 1].
    pub lr: f64,
    /// AdamW decoupled weight decay, [0, 1) (0: Adam, robomimic's default).
    pub weight_decay: f64,
    /// MLP hidden widths (BC) or LSTM layer sizes (BC-RNN); empty: the algorithm's default.
    pub hidden: Vec<usize>,
    /// BC-RNN sequence length (robomimic: 10).
    pub seq_len: u32,
    /// Components of a GMM action head (robomimic's `gmm`), 0 for a plain regression
    /// head; `None`: the algorithm's default (BC: 0, robomimic's BC; BC-RNN: 5, the
    /// BC-RNN of MimicGen's and D-MG's released configs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gmm_modes: Option<u32>,
    /// Seed of the initial weights and the batch order.
    pub seed: u64,
    /// Observation keys, concatenated in this order; empty: robomimic's low-dim four.
    /// Used by the `keys` input only.
    pub obs_keys: Vec<String>,
    /// What the network sees: `features` (the policy stage's representation,
    /// `policy::features`) or `keys` (the dataset's keys as they are, robomimic's).
    /// `None`: features.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<InputKind>,
    /// Observations a chunked policy sees (the current one and those before it), 1..=16;
    /// 0: the algorithm's default (2, Diffusion Policy's).
    pub obs_horizon: u32,
    /// Actions a chunked policy predicts at once, 1..=64; 0: the default (16).
    pub chunk: u32,
    /// Of those, actions executed before predicting again, 1..=chunk; 0: the default (8).
    pub exec: u32,
    /// The learning rate over the run; `None`: constant for BC and BC-RNN (robomimic's),
    /// cosine for chunked BC and Diffusion Policy (Diffusion Policy's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_schedule: Option<LrSchedule>,
    /// Warm-up steps of the cosine schedule (at most a tenth of the budget is used).
    pub warmup: u32,
    /// Diffusion: DDIM steps when acting (divides 100), 1..=100.
    pub denoise_steps: u32,
    /// Diffusion: what the denoiser predicts (`sample`, the chunk; `epsilon`, the noise).
    pub prediction: Prediction,
    /// What the network predicts; `None`: absolute target poses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_space: Option<ActionSpace>,
}

/// What a policy's network predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionSpace {
    /// The dataset's `actions` as they are (delta actions in robomimic's convention by
    /// default). Policy files without an `action_space` field are of this kind.
    #[default]
    Dataset,
    /// The hand's target pose: position, the first two columns of its rotation matrix
    /// (the continuous 6-D rotation), and the gripper (10 values), read from the file's
    /// absolute actions; D-MG's and Diffusion Policy's choice. The policy acts with
    /// absolute actions.
    Absolute,
}

impl ActionSpace {
    pub fn as_str(&self) -> &'static str {
        match self {
            ActionSpace::Dataset => "dataset",
            ActionSpace::Absolute => "absolute",
        }
    }
}

/// What the denoiser predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The noise `eps` (Diffusion Policy's default; DDPM's parameterisation). Files
    /// without a `prediction` field are of this kind.
    #[default]
    Epsilon,
    /// The clean chunk `x0` (diffusers' `prediction_type = "sample"`): the settings'
    /// default, measured far ahead of `epsilon` at this tool's budgets (stack, 200 D-MG
    /// episodes, 10,000 steps: 19/20 validation successes against 0/20, docs/results.md).
    Sample,
}

/// How a policy builds its input from observations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// The dataset's keys concatenated as they are (robomimic's input), standardised with
    /// robomimic's `std + 1e-3`. Policy files without an `input` field (written before
    /// features existed) are of this kind.
    #[default]
    Keys,
    /// The policy stage's features of the hand and the objects (`policy::features`).
    Features,
}

impl InputKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            InputKind::Keys => "keys",
            InputKind::Features => "features",
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            algo: Algo::default(),
            steps: 5_000,
            epochs: None,
            batch_size: 256,
            lr: 1e-3,
            weight_decay: 0.0,
            hidden: Vec::new(),
            seq_len: 10,
            gmm_modes: None,
            seed: 0,
            obs_keys: Vec::new(),
            input: None,
            obs_horizon: 0,
            chunk: 0,
            exec: 0,
            lr_schedule: None,
            warmup: 500,
            denoise_steps: 10,
            prediction: Prediction::Sample,
            action_space: None,
        }
    }
}

impl TrainConfig {
    /// The layer sizes used (the default when `hidden` is empty): robomimic's for BC
    /// (1024, 1024) and BC-RNN (2 x 400); chunked BC three layers of 512; the diffusion
    /// denoiser a residual MLP of width 256 with 3 blocks.
    pub fn layers(&self) -> Vec<usize> {
        if !self.hidden.is_empty() {
            return self.hidden.clone();
        }
        match self.algo {
            Algo::Bc => vec![1024, 1024],
            Algo::BcRnn => vec![400, 400],
            Algo::BcChunk => vec![512, 512, 512],
            Algo::Diffusion => vec![256, 256, 256, 256],
        }
    }

    /// GMM components used (0: regression head).
    pub fn modes(&self) -> u32 {
        self.gmm_modes.unwrap_or(match self.algo {
            Algo::BcRnn => 5,
            _ => 0,
        })
    }

    /// The action space used.
    pub fn actions(&self) -> ActionSpace {
        self.action_space.unwrap_or(ActionSpace::Absolute)
    }

    /// The input representation used.
    pub fn input_kind(&self) -> InputKind {
        self.input.unwrap_or(InputKind::Features)
    }

    /// `(obs_horizon, chunk, exec)` used: 1, 1, 1 for BC and BC-RNN.
    pub fn horizons(&self) -> (u32, u32, u32) {
        if !self.algo.chunked() {
            return (1, 1, 1);
        }
        let h = if self.obs_horizon == 0 {
            2
        } else {
            self.obs_horizon
        };
        let c = if self.chunk == 0 { 16 } else { self.chunk };
        let e = if self.exec == 0 { 8.min(c) } else { self.exec };
        (h, c, e)
    }

    /// The learning-rate schedule used.
    pub fn schedule(&self) -> LrSchedule {
        self.lr_schedule.unwrap_or(if self.algo.chunked() {
            LrSchedule::Cosine
        } else {
            LrSchedule::Constant
        })
    }

    pub fn keys(&self) -> Vec<String> {
        if self.obs_keys.is_empty() {
            DEFAULT_OBS_KEYS.iter().map(|k| k.to_string()).collect()
        } else {
            self.obs_keys.clone()
        }
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        let bad = |m: String| Err(PolicyError::Config(m));
        if let Some(e) = self.epochs {
            if !(1..=10_000).contains(&e) {
                return bad(format!("epochs must be 1..=10000, got {e}"));
            }
        } else if !(1..=MAX_TRAIN_STEPS).contains(&self.steps) {
            return bad(format!(
                "steps must be 1..={MAX_TRAIN_STEPS}, got {}",
                self.steps
            ));
        }
        if !(1..=4096).contains(&self.batch_size) {
            return bad(format!(
                "batch size must be 1..=4096, got {}",
                self.batch_size
            ));
        }
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return bad(format!("learning rate must be in (0, 1], got {}", self.lr));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay < 1.0) {
            return bad(format!(
                "weight decay must be in [0, 1), got {}",
                self.weight_decay
            ));
        }
        let layers = self.layers();
        if layers.len() > 8 || layers.iter().any(|h| !(1..=4096).contains(h)) {
            return bad(format!(
                "hidden layers must be at most 8 sizes of 1..=4096, got {layers:?}"
            ));
        }
        if self.modes() > 64 {
            return bad(format!("GMM modes must be 0..=64, got {}", self.modes()));
        }
        if self.algo == Algo::BcRnn && !(1..=200).contains(&self.seq_len) {
            return bad(format!(
                "sequence length must be 1..=200, got {}",
                self.seq_len
            ));
        }
        let (h, c, e) = self.horizons();
        if !(1..=16).contains(&h) {
            return bad(format!("observation horizon must be 1..=16, got {h}"));
        }
        if !(1..=64).contains(&c) {
            return bad(format!("chunk must be 1..=64 actions, got {c}"));
        }
        if !(1..=c).contains(&e) {
            return bad(format!(
                "actions executed per chunk must be 1..={c} (the chunk), got {e}"
            ));
        }
        if self.algo == Algo::Diffusion {
            if self.modes() > 0 {
                return bad("a diffusion policy has no GMM head".into());
            }
            if !(1..=100).contains(&self.denoise_steps) || 100 % self.denoise_steps != 0 {
                return bad(format!(
                    "denoising steps must divide 100 (1, 2, 4, 5, 10, 20, 25, 50, 100), got {}",
                    self.denoise_steps
                ));
            }
            let l = self.layers();
            if l.iter().any(|w| *w != l[0]) {
                return bad(format!(
                    "the denoiser's layers must all have one width, got {l:?}"
                ));
            }
        }
        if self.algo == Algo::BcChunk && self.modes() > 0 {
            return bad("chunked BC has no GMM head".into());
        }
        if self.warmup > 1_000_000 {
            return bad(format!(
                "warm-up must be at most 1000000 steps, got {}",
                self.warmup
            ));
        }
        Ok(())
    }
}

/// Per-key normalisation of the observations.
/// The default evaluation seed (generation's default is 0).
pub const DEFAULT_EVAL_SEED: u64 = 1_000_000;
/// Largest number of evaluation episodes in one run.
pub const MAX_EVAL_EPISODES: u32 = 100_000;

/// What to evaluate on (serde; part of a share link).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    pub task: String,
    /// A task that is not built in (generation's `custom_task`; left out of the JSON
    /// when none).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::task::deserialize_custom_task"
    )]
    pub custom_task: Option<Box<crate::task::Task>>,
    pub variant: Variant,
    pub dynamics: DynamicsParams,
    pub episodes: u32,
    pub seed: u64,
    /// The scenes' reset level (generation's `reset`; left out of the JSON at `d0`).
    #[serde(skip_serializing_if = "ResetLevel::is_d0")]
    pub reset: ResetLevel,
    /// The objects' sizes (generation's `geometry`; left out of the JSON at `playground`).
    #[serde(skip_serializing_if = "Geometry::is_playground")]
    pub geometry: Geometry,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            task: "stack".into(),
            custom_task: None,
            variant: Variant::Static,
            dynamics: DynamicsParams::default(),
            episodes: 50,
            seed: DEFAULT_EVAL_SEED,
            reset: ResetLevel::D0,
            geometry: Geometry::Playground,
        }
    }
}

/// Training and evaluation settings together: what a share link's `p` parameter holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySettings {
    pub train: TrainConfig,
    pub eval: EvalConfig,
}

impl PolicySettings {
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.train.validate()?;
        self.eval.validate()
    }

    /// The JSON a link carries: fields in declaration order, every field written, so the
    /// same settings always give the same text.
    pub fn to_canonical_json(&self) -> Result<String, PolicyError> {
        serde_json::to_string(self).map_err(|e| PolicyError::Config(e.to_string()))
    }

    /// Parse and validate (unknown fields are errors; absent ones take their defaults).
    pub fn from_json(text: &str) -> Result<PolicySettings, PolicyError> {
        let s: PolicySettings =
            serde_json::from_str(text).map_err(|e| PolicyError::Config(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }
}

impl EvalConfig {
    /// Episode count, task id (a task of this tool) and dynamics settings (checked as a generation config
    /// checks them).
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(1..=MAX_EVAL_EPISODES).contains(&self.episodes) {
            return Err(PolicyError::Config(format!(
                "episodes must be 1..={MAX_EVAL_EPISODES}, got {}",
                self.episodes
            )));
        }
        let generation = self.generation();
        generation
            .base_task()
            .map_err(|e| PolicyError::Config(e.to_string()))?;
        generation
            .validate()
            .map_err(|e| PolicyError::Config(e.to_string()))
    }

    /// The generation configuration whose scenes and dynamics this evaluation uses.
    pub fn generation(&self) -> GenerationConfig {
        GenerationConfig {
            task: self.task.clone(),
            custom_task: self.custom_task.clone(),
            variant: self.variant,
            dynamics: self.dynamics.clone(),
            reset: self.reset,
            geometry: self.geometry,
            ..GenerationConfig::default()
        }
    }
}

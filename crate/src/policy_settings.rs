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
    /// robomimic BC: an MLP.
    #[default]
    Bc,
    /// robomimic BC-RNN: an LSTM over `seq_len` steps.
    BcRnn,
}

impl Algo {
    pub fn as_str(&self) -> &'static str {
        match self {
            Algo::Bc => "bc",
            Algo::BcRnn => "bc_rnn",
        }
    }
    pub fn from_id(id: &str) -> Option<Algo> {
        match id {
            "bc" => Some(Algo::Bc),
            "bc_rnn" => Some(Algo::BcRnn),
            _ => None,
        }
    }
}

/// Training settings (serde; part of a share link).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub algo: Algo,
    /// Passes over the training split, 1..=10000.
    pub epochs: u32,
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
    pub obs_keys: Vec<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            algo: Algo::Bc,
            epochs: 50,
            batch_size: 256,
            lr: 1e-3,
            weight_decay: 0.0,
            hidden: Vec::new(),
            seq_len: 10,
            gmm_modes: None,
            seed: 0,
            obs_keys: Vec::new(),
        }
    }
}

impl TrainConfig {
    /// The layer sizes used (the default when `hidden` is empty).
    pub fn layers(&self) -> Vec<usize> {
        if !self.hidden.is_empty() {
            return self.hidden.clone();
        }
        match self.algo {
            Algo::Bc => vec![256, 256],
            Algo::BcRnn => vec![256, 256],
        }
    }

    /// GMM components used (0: regression head).
    pub fn modes(&self) -> u32 {
        self.gmm_modes.unwrap_or(match self.algo {
            Algo::Bc => 0,
            Algo::BcRnn => 5,
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
        if !(1..=10_000).contains(&self.epochs) {
            return bad(format!("epochs must be 1..=10000, got {}", self.epochs));
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
        crate::task::Task::by_id(&self.task).map_err(|e| PolicyError::Config(e.to_string()))?;
        self.generation()
            .validate()
            .map_err(|e| PolicyError::Config(e.to_string()))
    }

    /// The generation configuration whose scenes and dynamics this evaluation uses.
    pub fn generation(&self) -> GenerationConfig {
        GenerationConfig {
            task: self.task.clone(),
            variant: self.variant,
            dynamics: self.dynamics.clone(),
            reset: self.reset,
            geometry: self.geometry,
            ..GenerationConfig::default()
        }
    }
}

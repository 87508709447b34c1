//! The networks, written with candle's tensor operations (candle differentiates them and
//! its AdamW updates them): an MLP (robomimic's BC actor) and a stacked LSTM with a
//! linear head (robomimic's BC-RNN actor, deterministic output).
//!
//! Parameters are created here from the run's seeded stream with PyTorch's default
//! initialisation (uniform in `±1/sqrt(fan_in)` for linear layers, `±1/sqrt(hidden)` for
//! LSTM weights) rather than candle's initialisers, whose generator cannot be seeded;
//! so a seed gives the same initial weights natively and in wasm32.

use crate::rng::Rng;
use candle_core::{DType, Device, Tensor, Var};

pub(crate) type CResult<T> = candle_core::Result<T>;

/// Named parameters in creation order (the safetensors names).
#[derive(Default)]
pub(crate) struct Params {
    pub vars: Vec<(String, Var)>,
}

impl Params {
    fn uniform(
        &mut self,
        name: String,
        shape: &[usize],
        bound: f64,
        rng: &mut Rng,
    ) -> CResult<Var> {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.range(-bound, bound) as f32).collect();
        let var = Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu)?)?;
        self.vars.push((name, var.clone()));
        Ok(var)
    }

    /// A parameter with the given values (loading a file).
    fn given(&mut self, name: String, shape: &[usize], values: Vec<f32>) -> CResult<Var> {
        let var = Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu)?)?;
        self.vars.push((name, var.clone()));
        Ok(var)
    }
}

/// Looks up a parameter's values by name and shape (a loaded file).
pub(crate) type Lookup<'a> = dyn FnMut(&str, &[usize]) -> Result<Vec<f32>, String> + 'a;

/// Where a layer's numbers come from.
pub(crate) enum Init<'a> {
    Random(&'a mut Rng),
    /// Values by name; every name must be present.
    Values(&'a mut Lookup<'a>),
}

fn make(
    p: &mut Params,
    init: &mut Init<'_>,
    name: String,
    shape: &[usize],
    bound: f64,
) -> Result<Var, String> {
    match init {
        Init::Random(rng) => p
            .uniform(name, shape, bound, rng)
            .map_err(|e| e.to_string()),
        Init::Values(f) => {
            let v = f(&name, shape)?;
            p.given(name, shape, v).map_err(|e| e.to_string())
        }
    }
}

/// `y = x W + b`, `W` stored `(in, out)`.
pub(crate) struct Linear {
    w: Var,
    b: Var,
}

impl Linear {
    fn new(
        p: &mut Params,
        init: &mut Init<'_>,
        name: &str,
        i: usize,
        o: usize,
    ) -> Result<Linear, String> {
        let bound = 1.0 / (i as f64).sqrt();
        Ok(Linear {
            w: make(p, init, format!("{name}.weight"), &[i, o], bound)?,
            b: make(p, init, format!("{name}.bias"), &[o], bound)?,
        })
    }

    /// `x`: `(n, in)`.
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        x.matmul(self.w.as_tensor())?
            .broadcast_add(self.b.as_tensor())
    }
}

/// One LSTM layer (PyTorch's gate order i, f, g, o; one bias).
pub(crate) struct Lstm {
    w_ih: Var,
    w_hh: Var,
    b: Var,
    hidden: usize,
}

/// An LSTM layer's state `(h, c)`, each `(batch, hidden)`.
pub(crate) type LstmState = (Tensor, Tensor);

impl Lstm {
    fn new(
        p: &mut Params,
        init: &mut Init<'_>,
        name: &str,
        i: usize,
        h: usize,
    ) -> Result<Lstm, String> {
        let bound = 1.0 / (h as f64).sqrt();
        Ok(Lstm {
            w_ih: make(p, init, format!("{name}.weight_ih"), &[i, 4 * h], bound)?,
            w_hh: make(p, init, format!("{name}.weight_hh"), &[h, 4 * h], bound)?,
            b: make(p, init, format!("{name}.bias"), &[4 * h], bound)?,
            hidden: h,
        })
    }

    fn zero_state(&self, batch: usize) -> CResult<LstmState> {
        let z = Tensor::zeros((batch, self.hidden), DType::F32, &Device::Cpu)?;
        Ok((z.clone(), z))
    }

    /// One step from the input projection `xw = x W_ih` (`(batch, 4h)`).
    fn step(&self, xw: &Tensor, s: &LstmState) -> CResult<LstmState> {
        let gates = xw
            .add(&s.0.matmul(self.w_hh.as_tensor())?)?
            .broadcast_add(self.b.as_tensor())?;
        let g = gates.chunk(4, 1)?;
        let sig = candle_nn::ops::sigmoid;
        let c = sig(&g[1])?
            .mul(&s.1)?
            .add(&sig(&g[0])?.mul(&g[2].tanh()?)?)?;
        let h = sig(&g[3])?.mul(&c.tanh()?)?;
        Ok((h, c))
    }

    /// The whole sequence `x`: `(batch, len, in)` -> `(batch, len, hidden)`, from zero state.
    fn sequence(&self, x: &Tensor) -> CResult<Tensor> {
        let (b, l, i) = x.dims3()?;
        let xw = x
            .reshape((b * l, i))?
            .matmul(self.w_ih.as_tensor())?
            .reshape((b, l, 4 * self.hidden))?;
        let mut s = self.zero_state(b)?;
        let mut out = Vec::with_capacity(l);
        for t in 0..l {
            s = self.step(&xw.narrow(1, t, 1)?.squeeze(1)?, &s)?;
            out.push(s.0.clone());
        }
        Tensor::stack(&out, 1)
    }
}

/// The network of a policy.
pub(crate) enum Net {
    /// ReLU MLP, linear output.
    Mlp(Vec<Linear>),
    /// Stacked LSTM layers and a linear head.
    Rnn { layers: Vec<Lstm>, head: Linear },
    /// The diffusion denoiser ([`Denoiser`]).
    Denoiser(Denoiser),
}

/// The diffusion denoiser: a residual MLP over the noisy action chunk, conditioned by
/// FiLM (Perez et al. 2018, as Diffusion Policy's U-Net blocks are) on the observation
/// window and the noise step. Its input row is `[x_k (x_dim), window, sinusoid (e_dim)]`.
/// The sinusoid goes through `Linear(e, 2e)`, Mish, `Linear(2e, e)` (Diffusion Policy's
/// step encoder); the condition `c = [window, step]` gives every block a scale and shift:
/// `h <- h + W_b mish((1 + scale(c)) * W_a mish(h) + shift(c))`; the output is
/// `W_out mish(h)`.
pub(crate) struct Denoiser {
    x_dim: usize,
    e_dim: usize,
    width: usize,
    step_in: Linear,
    step_out: Linear,
    input: Linear,
    blocks: Vec<(Linear, Linear, Linear)>,
    out: Linear,
}

impl Denoiser {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let total = x.dim(1)?;
        let w_dim = total - self.x_dim - self.e_dim;
        // Column ranges of a row-major matrix are strided views: candle's element-wise
        // kernels are several times slower on those, so each part is copied out once.
        let xk = x.narrow(1, 0, self.x_dim)?.contiguous()?;
        let window = x.narrow(1, self.x_dim, w_dim)?.contiguous()?;
        let sin = x.narrow(1, self.x_dim + w_dim, self.e_dim)?.contiguous()?;
        let step = self
            .step_out
            .forward(&mish(&self.step_in.forward(&sin)?)?)?;
        let c = Tensor::cat(&[&window, &step], 1)?;
        let mut h = self.input.forward(&xk)?;
        for (a, b, film) in &self.blocks {
            let f = film.forward(&c)?;
            let scale = f.narrow(1, 0, self.width)?.contiguous()?;
            let shift = f.narrow(1, self.width, self.width)?.contiguous()?;
            let r = a.forward(&mish(&h)?)?;
            let r = r.mul(&scale.affine(1.0, 1.0)?)?.add(&shift)?;
            h = h.add(&b.forward(&mish(&r)?)?)?;
        }
        self.out.forward(&mish(&h)?)
    }
}

/// The architecture of a [`Net`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arch {
    Mlp,
    Rnn,
    /// The diffusion denoiser: `hidden[0]` is the width, `hidden.len() - 1` the number of
    /// blocks; the input row is `[x_k (the output's width), window, sinusoid (e)]`.
    Denoiser {
        step_embed: usize,
    },
}

impl Net {
    /// `hidden`: MLP layer widths, or LSTM layer sizes, or the residual MLP's width
    /// (every entry the same) and block count plus one.
    pub fn new(
        arch: Arch,
        obs_dim: usize,
        hidden: &[usize],
        act_dim: usize,
        init: &mut Init<'_>,
    ) -> Result<(Net, Params), String> {
        let mut p = Params::default();
        let mut width = obs_dim;
        if let Arch::Denoiser { step_embed: e } = arch {
            let w = hidden.first().copied().ok_or("a denoiser needs a width")?;
            let x_dim = act_dim;
            let cond = obs_dim
                .checked_sub(x_dim + e)
                .ok_or("the denoiser's input is narrower than its parts")?
                + e;
            let step_in = Linear::new(&mut p, init, "den.step_in", e, 2 * e)?;
            let step_out = Linear::new(&mut p, init, "den.step_out", 2 * e, e)?;
            let input = Linear::new(&mut p, init, "den.in", x_dim, w)?;
            let mut blocks = Vec::new();
            for k in 1..hidden.len() {
                blocks.push((
                    Linear::new(&mut p, init, &format!("den.{k}.a"), w, w)?,
                    Linear::new(&mut p, init, &format!("den.{k}.b"), w, w)?,
                    Linear::new(&mut p, init, &format!("den.{k}.film"), cond, 2 * w)?,
                ));
            }
            let out = Linear::new(&mut p, init, "den.out", w, act_dim)?;
            return Ok((
                Net::Denoiser(Denoiser {
                    x_dim,
                    e_dim: e,
                    width: w,
                    step_in,
                    step_out,
                    input,
                    blocks,
                    out,
                }),
                p,
            ));
        }
        let net = if arch == Arch::Rnn {
            let mut layers = Vec::with_capacity(hidden.len());
            for (k, h) in hidden.iter().enumerate() {
                layers.push(Lstm::new(&mut p, init, &format!("lstm.{k}"), width, *h)?);
                width = *h;
            }
            let head = Linear::new(&mut p, init, "head", width, act_dim)?;
            Net::Rnn { layers, head }
        } else {
            let mut layers = Vec::with_capacity(hidden.len() + 1);
            for (k, h) in hidden.iter().chain([act_dim].iter()).enumerate() {
                layers.push(Linear::new(&mut p, init, &format!("mlp.{k}"), width, *h)?);
                width = *h;
            }
            Net::Mlp(layers)
        };
        Ok((net, p))
    }

    /// Training forward pass. MLP: `x` `(n, obs)` -> `(n, act)`; RNN: `x`
    /// `(batch, len, obs)` -> `(batch * len, act)`, each sequence from zero state.
    pub fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        match self {
            Net::Mlp(layers) => mlp(layers, x),
            Net::Denoiser(d) => d.forward(x),
            Net::Rnn { layers, head } => {
                let mut h = x.clone();
                for l in layers {
                    h = l.sequence(&h)?;
                }
                let (b, len, w) = h.dims3()?;
                head.forward(&h.reshape((b * len, w))?)
            }
        }
    }

    /// A zero recurrent state for a batch of one (empty for an MLP).
    pub fn initial_state(&self) -> CResult<Vec<LstmState>> {
        match self {
            Net::Mlp(_) | Net::Denoiser(_) => Ok(Vec::new()),
            Net::Rnn { layers, .. } => layers.iter().map(|l| l.zero_state(1)).collect(),
        }
    }

    /// One closed-loop step: `x` `(1, obs)` -> `(1, act)`, advancing `state`.
    pub fn step(&self, x: &Tensor, state: &mut [LstmState]) -> CResult<Tensor> {
        match self {
            Net::Mlp(layers) => mlp(layers, x),
            Net::Denoiser(d) => d.forward(x),
            Net::Rnn { layers, head } => {
                let mut h = x.clone();
                for (l, s) in layers.iter().zip(state.iter_mut()) {
                    *s = l.step(&h.matmul(l.w_ih.as_tensor())?, s)?;
                    h = s.0.clone();
                }
                head.forward(&h)
            }
        }
    }
}

/// Smallest standard deviation of a GMM component (robomimic's `min_std`).
pub(crate) const GMM_MIN_STD: f64 = 1e-4;

/// `log(1 + e^x)`, computed without overflow.
fn softplus(x: &Tensor) -> CResult<Tensor> {
    x.relu()?
        .add(&x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)
}

/// Width of a GMM head's output for `modes` components over `a` action values: the
/// means, the raw scales and the mixture logits.
pub(crate) fn gmm_width(modes: usize, a: usize) -> usize {
    modes * (2 * a + 1)
}

/// robomimic's GMM head: `out` `(n, modes * (2a + 1))` read as component means
/// (through tanh), scales (softplus + [`GMM_MIN_STD`]) and logits; the mean negative
/// log-likelihood of the targets `y` `(n, a)` under the mixture.
pub(crate) fn gmm_nll(out: &Tensor, y: &Tensor, modes: usize, a: usize) -> CResult<Tensor> {
    let n = out.dim(0)?;
    let means = out
        .narrow(1, 0, modes * a)?
        .reshape((n, modes, a))?
        .tanh()?;
    let scales = softplus(
        &out.narrow(1, modes * a, modes * a)?
            .reshape((n, modes, a))?,
    )?
    .affine(1.0, GMM_MIN_STD)?;
    let log_pi = candle_nn::ops::log_softmax(&out.narrow(1, 2 * modes * a, modes)?, 1)?;
    let z = y.unsqueeze(1)?.broadcast_sub(&means)?.div(&scales)?;
    let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let log_n = z
        .sqr()?
        .affine(-0.5, -half_ln_2pi)?
        .sub(&scales.log()?)?
        .sum(2)?;
    log_pi.add(&log_n)?.log_sum_exp(1)?.mean_all()?.neg()
}

/// One action from a GMM head's output row: the mean of a component drawn by its
/// mixture weight (robomimic's `low_noise_eval`: component noise shrunk to nothing).
/// `u` is a uniform number in [0, 1).
pub(crate) fn gmm_pick(row: &[f32], modes: usize, a: usize, u: f64) -> Vec<f32> {
    let logits = &row[2 * modes * a..2 * modes * a + modes];
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let w: Vec<f64> = logits.iter().map(|l| f64::from(l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    let mut k = modes - 1;
    for (i, wi) in w.iter().enumerate() {
        acc += wi / total;
        if u < acc {
            k = i;
            break;
        }
    }
    row[k * a..(k + 1) * a].iter().map(|m| m.tanh()).collect()
}

fn mlp(layers: &[Linear], x: &Tensor) -> CResult<Tensor> {
    let mut h = x.clone();
    for (k, l) in layers.iter().enumerate() {
        h = l.forward(&h)?;
        if k + 1 < layers.len() {
            h = h.relu()?;
        }
    }
    Ok(h)
}

/// `x * tanh(softplus(x))`, from differentiable operations.
fn mish(x: &Tensor) -> CResult<Tensor> {
    x.mul(&softplus(x)?.tanh()?)
}

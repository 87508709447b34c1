//! Diffusion Policy (Chi et al. 2023) for low-dim observations: a denoiser learns to
//! predict the noise added to a chunk of normalised actions, conditioned on the last
//! observations and the noise level; acting draws a chunk from Gaussian noise by DDIM.
//!
//! Notation: `x0` a clean action chunk (`chunk * action_dim` values in [-1, 1]), `k` a
//! noise step in `0..T` (`T` = [`DiffusionSpec::train_steps`], 100 as in Diffusion
//! Policy), `abar_k` the cumulative product of `1 - beta_i` for `i <= k`, with betas from
//! the "squaredcos_cap_v2" schedule (Nichol and Dhariwal 2021):
//! `abar(t) = cos(((t / T) + 0.008) / 1.008 * pi / 2)^2`, `beta_k = min(1 - abar(k+1) / abar(k), 0.999)`.
//! Training (DDPM, Ho et al. 2020): `x_k = sqrt(abar_k) x0 + sqrt(1 - abar_k) eps` and the
//! loss is the mean squared error between `eps` and the denoiser's prediction.
//! Sampling (DDIM, Song et al. 2021, deterministic, `eta = 0`) in `S` =
//! [`DiffusionSpec::infer_steps`] steps at `k = T - T/S, ..., T/S, 0` (evenly spaced,
//! "leading"): `x0^ = (x - sqrt(1 - abar_k) eps^) / sqrt(abar_k)`, clipped to [-1, 1],
//! then `x <- sqrt(abar_prev) x0^ + sqrt(1 - abar_prev) eps^` (`abar_prev = 1` after the
//! last step). The initial noise comes from the policy's seeded stream, so an episode's
//! actions depend only on its seed.
//!
//! The denoiser ([`super::model::Denoiser`]) is an MLP: the noisy chunk, the
//! observations and a sinusoidal embedding of `k` concatenated, through residual
//! layers with Mish. Diffusion Policy's 1-D temporal convolution U-Net was measured
//! against it on this CPU (docs/results.md, "Diffusion Policy's denoiser") and left out.
//!
//! Weights are averaged during training (EMA, Diffusion Policy's `EMAModel`: decay
//! `1 - (1 + step)^-0.75`, at most 0.9999); the policy acts with the averaged weights.

use crate::geom::m;
use serde::{Deserialize, Serialize};

pub use crate::policy_settings::Prediction;

/// Settings of a diffusion policy (part of the policy file's config).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffusionSpec {
    /// Noise steps of training, `T`.
    pub train_steps: u32,
    /// DDIM steps when acting, `S` (divides into `T`).
    pub infer_steps: u32,
    /// Width of the noise-step embedding.
    pub step_embed: usize,
    #[serde(default)]
    pub prediction: Prediction,
}

impl Default for DiffusionSpec {
    fn default() -> Self {
        DiffusionSpec {
            train_steps: 100,
            infer_steps: 10,
            step_embed: 64,
            prediction: Prediction::Epsilon,
        }
    }
}

/// `abar_k` for `k = 0..t` of the squaredcos_cap_v2 schedule.
pub fn alphas_cumprod(t: u32) -> Vec<f64> {
    let abar = |s: f64| {
        let c = m::cos((s / f64::from(t) + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2);
        c * c
    };
    let mut out = Vec::with_capacity(t as usize);
    let mut prod = 1.0;
    for i in 0..t {
        let beta = (1.0 - abar(f64::from(i + 1)) / abar(f64::from(i))).min(0.999);
        prod *= 1.0 - beta;
        out.push(prod);
    }
    out
}

/// The DDIM noise steps of sampling, from the noisiest: `T - T/S, ..., 0`.
pub fn ddim_steps(spec: &DiffusionSpec) -> Vec<u32> {
    let ratio = spec.train_steps / spec.infer_steps.max(1);
    (0..spec.infer_steps).rev().map(|i| i * ratio).collect()
}

/// Sinusoidal embedding of noise step `k` (`dim` values: sines then cosines of
/// `k * 10000^(-i / (dim/2 - 1))`), as Diffusion Policy's `SinusoidalPosEmb`.
pub fn step_embedding(k: u32, dim: usize, out: &mut Vec<f32>) {
    let half = dim / 2;
    let scale = m::ln(10_000.0) / (half.max(2) - 1) as f64;
    let k = f64::from(k);
    for i in 0..half {
        out.push(m::sin(k * m::exp(-(i as f64) * scale)) as f32);
    }
    for i in 0..half {
        out.push(m::cos(k * m::exp(-(i as f64) * scale)) as f32);
    }
}

/// EMA decay after `step` updates (Diffusion Policy's `EMAModel` with `inv_gamma = 1`,
/// `power = 0.75`, `max_value = 0.9999`).
pub fn ema_decay(step: u64) -> f64 {
    (1.0 - m::powf(1.0 + step as f64, -0.75)).clamp(0.0, 0.9999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_goes_from_clean_to_noise() {
        let a = alphas_cumprod(100);
        assert_eq!(a.len(), 100);
        assert!(a[0] > 0.999 && a[0] < 1.0, "{}", a[0]);
        assert!(a[99] < 1e-3, "{}", a[99]);
        assert!(a.windows(2).all(|w| w[1] < w[0]));
        assert_eq!(
            ddim_steps(&DiffusionSpec::default()),
            vec![90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
        );
        let mut e = Vec::new();
        step_embedding(0, 8, &mut e);
        assert_eq!(e, vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        assert!(ema_decay(0) == 0.0 && ema_decay(10_000_000) == 0.9999);
    }
}

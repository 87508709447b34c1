//! `dmgen bench denoiser`: Diffusion Policy's denoisers on this machine's CPU, to choose
//! the one the policy stage trains.
//!
//! - `unet`: Diffusion Policy's `ConditionalUnet1D`: a 1-D temporal convolution U-Net over
//!   the action chunk (kernel 5, group norm with 8 groups, Mish), each residual block
//!   conditioned by FiLM on the noise step's embedding and the observations; downsampling
//!   by strided convolution, upsampling by repetition and a convolution (candle has no
//!   gradient for transposed convolutions). At the paper's widths (256, 512, 1024) and at
//!   reduced ones.
//! - `mlp`: the policy stage's residual MLP (the noisy chunk, the observations and the
//!   step embedding concatenated; width 512, 3 blocks, Mish).
//!
//! A sample is one (observation window, action chunk) pair; a step is the forward pass,
//! the backward pass and an AdamW update on a batch. Inference is one chunk: 10 DDIM
//! denoiser passes on a batch of one.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{linear, AdamW, Linear, Optimizer, VarBuilder, VarMap};
use std::time::Instant;

type CResult<T> = candle_core::Result<T>;

fn mish(x: &Tensor) -> CResult<Tensor> {
    candle_nn::ops::mish(x)
}

/// Conv1d, group norm, Mish.
struct ConvBlock {
    w: Tensor,
    b: Tensor,
    gn: candle_nn::GroupNorm,
    pad: usize,
}

impl ConvBlock {
    fn new(cin: usize, cout: usize, k: usize, vb: VarBuilder) -> CResult<Self> {
        let bound = 1.0 / ((cin * k) as f64).sqrt();
        let init = candle_nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Ok(ConvBlock {
            w: vb.get_with_hints((cout, cin, k), "w", init)?,
            b: vb.get_with_hints(cout, "b", init)?,
            gn: candle_nn::group_norm(8, cout, 1e-5, vb.pp("gn"))?,
            pad: k / 2,
        })
    }
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let y = x
            .conv1d(&self.w, self.pad, 1, 1, 1)?
            .broadcast_add(&self.b.reshape((1, (), 1))?)?;
        mish(&self.gn.forward(&y)?)
    }
}

/// Two conv blocks, FiLM from the condition between them, a residual path.
struct ResBlock {
    b0: ConvBlock,
    b1: ConvBlock,
    film: Linear,
    skip: Option<(Tensor, Tensor)>,
    cout: usize,
}

impl ResBlock {
    fn new(cin: usize, cout: usize, cond: usize, vb: VarBuilder) -> CResult<Self> {
        let skip = if cin != cout {
            let bound = 1.0 / (cin as f64).sqrt();
            let init = candle_nn::Init::Uniform {
                lo: -bound,
                up: bound,
            };
            Some((
                vb.get_with_hints((cout, cin, 1), "skip_w", init)?,
                vb.get_with_hints(cout, "skip_b", init)?,
            ))
        } else {
            None
        };
        Ok(ResBlock {
            b0: ConvBlock::new(cin, cout, 5, vb.pp("b0"))?,
            b1: ConvBlock::new(cout, cout, 5, vb.pp("b1"))?,
            film: linear(cond, 2 * cout, vb.pp("film"))?,
            skip,
            cout,
        })
    }
    fn forward(&self, x: &Tensor, cond: &Tensor) -> CResult<Tensor> {
        let y = self.b0.forward(x)?;
        let f = self.film.forward(&mish(cond)?)?;
        let scale = f.narrow(1, 0, self.cout)?.unsqueeze(2)?;
        let bias = f.narrow(1, self.cout, self.cout)?.unsqueeze(2)?;
        let y = y.broadcast_mul(&scale)?.broadcast_add(&bias)?;
        let y = self.b1.forward(&y)?;
        let r = match &self.skip {
            Some((w, b)) => x
                .conv1d(w, 0, 1, 1, 1)?
                .broadcast_add(&b.reshape((1, (), 1))?)?,
            None => x.clone(),
        };
        y + r
    }
}

/// One U-Net level: two residual blocks and the resampling convolution (weight, bias).
type Level = (ResBlock, ResBlock, Option<(Tensor, Tensor)>);

struct Unet {
    step_in: Linear,
    step_out: Linear,
    down: Vec<Level>,
    mid: Vec<ResBlock>,
    up: Vec<Level>,
    last: ConvBlock,
    out: (Tensor, Tensor),
}

fn conv_param(
    vb: &VarBuilder,
    name: &str,
    cin: usize,
    cout: usize,
    k: usize,
) -> CResult<(Tensor, Tensor)> {
    let bound = 1.0 / ((cin * k) as f64).sqrt();
    let init = candle_nn::Init::Uniform {
        lo: -bound,
        up: bound,
    };
    Ok((
        vb.get_with_hints((cout, cin, k), &format!("{name}_w"), init)?,
        vb.get_with_hints(cout, &format!("{name}_b"), init)?,
    ))
}

impl Unet {
    fn new(act: usize, obs: usize, dims: &[usize], vb: VarBuilder) -> CResult<Self> {
        let e = 128;
        let cond = e + obs;
        let mut down = Vec::new();
        let mut cin = act;
        for (i, &d) in dims.iter().enumerate() {
            let last = i + 1 == dims.len();
            let vbi = vb.pp(format!("down{i}"));
            down.push((
                ResBlock::new(cin, d, cond, vbi.pp("r0"))?,
                ResBlock::new(d, d, cond, vbi.pp("r1"))?,
                if last {
                    None
                } else {
                    Some(conv_param(&vbi, "ds", d, d, 3)?)
                },
            ));
            cin = d;
        }
        let top = *dims.last().unwrap_or(&64);
        let mid = vec![
            ResBlock::new(top, top, cond, vb.pp("mid0"))?,
            ResBlock::new(top, top, cond, vb.pp("mid1"))?,
        ];
        let mut up = Vec::new();
        for i in (1..dims.len()).rev() {
            let vbi = vb.pp(format!("up{i}"));
            up.push((
                ResBlock::new(2 * dims[i], dims[i - 1], cond, vbi.pp("r0"))?,
                ResBlock::new(dims[i - 1], dims[i - 1], cond, vbi.pp("r1"))?,
                Some(conv_param(&vbi, "us", dims[i - 1], dims[i - 1], 3)?),
            ));
        }
        Ok(Unet {
            step_in: linear(e, 4 * e, vb.pp("step_in"))?,
            step_out: linear(4 * e, e, vb.pp("step_out"))?,
            down,
            mid,
            up,
            last: ConvBlock::new(dims[0], dims[0], 5, vb.pp("last"))?,
            out: conv_param(&vb, "out", dims[0], act, 1)?,
        })
    }

    /// `x` `(n, act, len)`, `step` `(n, 128)` embedding, `obs` `(n, obs)`.
    fn forward(&self, x: &Tensor, step: &Tensor, obs: &Tensor) -> CResult<Tensor> {
        let s = self
            .step_out
            .forward(&mish(&self.step_in.forward(step)?)?)?;
        let cond = Tensor::cat(&[&s, obs], 1)?;
        let mut h = x.clone();
        let mut skips = Vec::new();
        for (r0, r1, ds) in &self.down {
            h = r1.forward(&r0.forward(&h, &cond)?, &cond)?;
            skips.push(h.clone());
            if let Some((w, b)) = ds {
                h = h
                    .conv1d(w, 1, 2, 1, 1)?
                    .broadcast_add(&b.reshape((1, (), 1))?)?;
            }
        }
        for m in &self.mid {
            h = m.forward(&h, &cond)?;
        }
        // As Diffusion Policy's: each up level takes the skip of its own length (the top
        // level's first), then upsamples; the first level's skip is not used.
        for (r0, r1, us) in &self.up {
            let skip = skips.pop().unwrap_or_else(|| h.clone());
            h = Tensor::cat(&[&h, &skip], 1)?;
            h = r1.forward(&r0.forward(&h, &cond)?, &cond)?;
            if let Some((w, b)) = us {
                // Upsample: repeat each step twice, then convolve.
                let (n, c, l) = h.dims3()?;
                h = h
                    .unsqueeze(3)?
                    .broadcast_as((n, c, l, 2))?
                    .reshape((n, c, 2 * l))?
                    .conv1d(w, 1, 1, 1, 1)?
                    .broadcast_add(&b.reshape((1, (), 1))?)?;
            }
        }
        let h = self.last.forward(&h)?;
        h.conv1d(&self.out.0, 0, 1, 1, 1)?
            .broadcast_add(&self.out.1.reshape((1, (), 1))?)
    }
}

struct ResMlp {
    input: Linear,
    blocks: Vec<(Linear, Linear)>,
    out: Linear,
}

impl ResMlp {
    fn new(inp: usize, out: usize, width: usize, blocks: usize, vb: VarBuilder) -> CResult<Self> {
        Ok(ResMlp {
            input: linear(inp, width, vb.pp("in"))?,
            blocks: (0..blocks)
                .map(|i| {
                    Ok((
                        linear(width, width, vb.pp(format!("b{i}a")))?,
                        linear(width, width, vb.pp(format!("b{i}b")))?,
                    ))
                })
                .collect::<CResult<_>>()?,
            out: linear(width, out, vb.pp("out"))?,
        })
    }
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let mut h = self.input.forward(x)?;
        for (a, b) in &self.blocks {
            h = (&h + b.forward(&mish(&a.forward(&mish(&h)?)?)?)?)?;
        }
        self.out.forward(&mish(&h)?)
    }
}

/// Training samples per second and milliseconds per 10-step chunk of one denoiser.
fn measure(
    name: &str,
    unet_dims: Option<&[usize]>,
    batch: usize,
    steps: usize,
) -> CResult<(f64, f64, usize)> {
    let dev = Device::Cpu;
    let (act, chunk, obs) = (10usize, 16usize, 2 * 36usize);
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &dev);
    let unet = match unet_dims {
        Some(d) => Some(Unet::new(act, obs, d, vb.pp("unet"))?),
        None => None,
    };
    let mlp = match unet_dims {
        None => Some(ResMlp::new(
            act * chunk + obs + 64,
            act * chunk,
            512,
            3,
            vb.pp("mlp"),
        )?),
        Some(_) => None,
    };
    let params: usize = vm.all_vars().iter().map(|v| v.elem_count()).sum();
    let mut opt = AdamW::new_lr(vm.all_vars(), 1e-4)?;
    let run = |n: usize| -> CResult<Tensor> {
        let o = Tensor::randn(0f32, 1.0, (n, obs), &dev)?;
        match (&unet, &mlp) {
            (Some(u), _) => {
                let x = Tensor::randn(0f32, 1.0, (n, act, chunk), &dev)?;
                let s = Tensor::randn(0f32, 1.0, (n, 128), &dev)?;
                u.forward(&x, &s, &o)
            }
            (None, Some(m)) => {
                let x = Tensor::randn(0f32, 1.0, (n, act * chunk + 64), &dev)?;
                m.forward(&Tensor::cat(&[&x, &o], 1)?)
            }
            _ => unreachable!("one denoiser is built"),
        }
    };
    // Warm-up, then timed steps.
    for _ in 0..2 {
        let y = run(batch)?;
        opt.backward_step(&y.sqr()?.mean_all()?)?;
    }
    let t0 = Instant::now();
    for _ in 0..steps {
        let y = run(batch)?;
        opt.backward_step(&y.sqr()?.mean_all()?)?;
    }
    let train = (steps * batch) as f64 / t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let chunks = 5;
    for _ in 0..chunks * 10 {
        run(1)?;
    }
    let infer_ms = 1000.0 * t1.elapsed().as_secs_f64() / chunks as f64;
    eprintln!("{name}: {params} parameters, {train:.0} samples/s, {infer_ms:.1} ms per chunk");
    Ok((train, infer_ms, params))
}

pub fn run(batch: usize, steps: usize) -> Result<(), String> {
    let arms: [(&str, Option<&[usize]>); 4] = [
        ("mlp 512 x 3 blocks", None),
        ("unet 64/128/256", Some(&[64, 128, 256])),
        ("unet 128/256/512", Some(&[128, 256, 512])),
        (
            "unet 256/512/1024 (Diffusion Policy's)",
            Some(&[256, 512, 1024]),
        ),
    ];
    println!("| denoiser | parameters | training samples/s (batch {batch}) | ms per action chunk (10 DDIM steps) | Diffusion Policy's schedule (2000 epochs x 100 steps x batch 100 = 20M samples) |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, dims) in arms {
        let (train, infer, params) =
            measure(name, dims, batch, steps).map_err(|e| e.to_string())?;
        println!(
            "| {name} | {params} | {train:.0} | {infer:.1} | {:.1} h |",
            20.0e6 / train / 3600.0
        );
    }
    Ok(())
}

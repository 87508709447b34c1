//! `dmgen bench image-policy`: how fast candle trains an image policy on this machine's
//! CPU, to decide whether image policies belong in the tool's policy stage or in the
//! exported files with robomimic.
//!
//! Two encoders per camera, each followed by a spatial softmax (32 keypoints) and a
//! linear layer to 64 features as robomimic's `VisualCore`; the features of both cameras
//! and the 9 low-dim state values feed robomimic's BC MLP (1024, 1024) to 7 actions:
//! - `resnet18`: robomimic's default backbone (ResNet-18's convolutions, no pretraining;
//!   batch normalisation left out, a small share of the cost);
//! - `small`: a four-layer convolution stack (32 channels, strides 2, 2, 1, 1), the kind
//!   of encoder a CPU could afford.
//!
//! A sample is one (two camera images, state, action) tuple; a step is a forward pass, the
//! backward pass and an AdamW update on a batch, all in candle on the CPU.

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{
    conv2d, linear, AdamW, Conv2d, Conv2dConfig, Linear, Optimizer, VarBuilder, VarMap,
};
use std::time::Instant;

type CResult<T> = candle_core::Result<T>;

fn cfg(stride: usize, padding: usize) -> Conv2dConfig {
    Conv2dConfig {
        stride,
        padding,
        ..Default::default()
    }
}

/// ResNet-18's basic block (two 3x3 convolutions and the shortcut).
struct Block {
    c1: Conv2d,
    c2: Conv2d,
    down: Option<Conv2d>,
}

impl Block {
    fn new(cin: usize, cout: usize, stride: usize, vb: VarBuilder) -> CResult<Self> {
        Ok(Block {
            c1: conv2d(cin, cout, 3, cfg(stride, 1), vb.pp("c1"))?,
            c2: conv2d(cout, cout, 3, cfg(1, 1), vb.pp("c2"))?,
            down: if stride != 1 || cin != cout {
                Some(conv2d(cin, cout, 1, cfg(stride, 0), vb.pp("down"))?)
            } else {
                None
            },
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let y = self.c2.forward(&self.c1.forward(x)?.relu()?)?;
        let s = match &self.down {
            Some(d) => d.forward(x)?,
            None => x.clone(),
        };
        (y + s)?.relu()
    }
}

enum Backbone {
    ResNet18 { stem: Conv2d, blocks: Vec<Block> },
    Small(Vec<Conv2d>),
}

impl Backbone {
    fn new(kind: &str, vb: VarBuilder) -> CResult<(Self, usize)> {
        Ok(match kind {
            "resnet18" => {
                let stem = conv2d(3, 64, 7, cfg(2, 3), vb.pp("stem"))?;
                let mut blocks = Vec::new();
                let mut cin = 64;
                for (i, (cout, stride)) in [(64, 1), (128, 2), (256, 2), (512, 2)]
                    .into_iter()
                    .enumerate()
                {
                    for j in 0..2 {
                        let s = if j == 0 { stride } else { 1 };
                        blocks.push(Block::new(cin, cout, s, vb.pp(format!("l{i}b{j}")))?);
                        cin = cout;
                    }
                }
                (Backbone::ResNet18 { stem, blocks }, 512)
            }
            _ => {
                let mut layers = Vec::new();
                let mut cin = 3;
                for (i, stride) in [2, 2, 1, 1].into_iter().enumerate() {
                    layers.push(conv2d(cin, 32, 3, cfg(stride, 1), vb.pp(format!("c{i}")))?);
                    cin = 32;
                }
                (Backbone::Small(layers), 32)
            }
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        match self {
            Backbone::ResNet18 { stem, blocks } => {
                let mut y = stem.forward(x)?.relu()?.max_pool2d_with_stride(3, 2)?;
                for b in blocks {
                    y = b.forward(&y)?;
                }
                Ok(y)
            }
            Backbone::Small(layers) => {
                let mut y = x.clone();
                for l in layers {
                    y = l.forward(&y)?.relu()?;
                }
                Ok(y)
            }
        }
    }
}

/// Backbone, spatial softmax to keypoints, linear layer to 64 features.
struct Encoder {
    backbone: Backbone,
    keypoints: Conv2d,
    out: Linear,
}

const KEYPOINTS: usize = 32;

impl Encoder {
    fn new(kind: &str, vb: VarBuilder) -> CResult<Self> {
        let (backbone, channels) = Backbone::new(kind, vb.pp("backbone"))?;
        Ok(Encoder {
            backbone,
            keypoints: conv2d(channels, KEYPOINTS, 1, cfg(1, 0), vb.pp("kp"))?,
            out: linear(2 * KEYPOINTS, 64, vb.pp("out"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let f = self.keypoints.forward(&self.backbone.forward(x)?)?;
        let (b, k, h, w) = f.dims4()?;
        let attn = candle_nn::ops::softmax_last_dim(&f.reshape((b, k, h * w))?)?;
        // Expected image coordinates in [-1, 1] of each keypoint's attention.
        let mut grid = Vec::with_capacity(h * w * 2);
        for i in 0..h {
            for j in 0..w {
                grid.push(if w > 1 {
                    2.0 * j as f32 / (w - 1) as f32 - 1.0
                } else {
                    0.0
                });
                grid.push(if h > 1 {
                    2.0 * i as f32 / (h - 1) as f32 - 1.0
                } else {
                    0.0
                });
            }
        }
        let grid = Tensor::from_vec(grid, (h * w, 2), x.device())?;
        let kp = attn.broadcast_matmul(&grid)?.reshape((b, 2 * k))?;
        self.out.forward(&kp)
    }
}

struct Policy {
    cameras: Vec<Encoder>,
    mlp: Vec<Linear>,
}

impl Policy {
    fn new(kind: &str, cameras: usize, vb: VarBuilder) -> CResult<Self> {
        let enc = (0..cameras)
            .map(|c| Encoder::new(kind, vb.pp(format!("cam{c}"))))
            .collect::<CResult<Vec<_>>>()?;
        let input = 64 * cameras + 9;
        let mlp = vec![
            linear(input, 1024, vb.pp("fc0"))?,
            linear(1024, 1024, vb.pp("fc1"))?,
            linear(1024, 7, vb.pp("fc2"))?,
        ];
        Ok(Policy { cameras: enc, mlp })
    }

    fn forward(&self, images: &[Tensor], state: &Tensor) -> CResult<Tensor> {
        let mut feats = Vec::with_capacity(images.len() + 1);
        for (e, im) in self.cameras.iter().zip(images) {
            feats.push(e.forward(im)?);
        }
        feats.push(state.clone());
        let mut y = Tensor::cat(&feats, D::Minus1)?;
        for (i, l) in self.mlp.iter().enumerate() {
            y = l.forward(&y)?;
            if i + 1 < self.mlp.len() {
                y = y.relu()?;
            }
        }
        Ok(y)
    }
}

fn measure(kind: &str, size: usize, batch: usize, steps: usize) -> CResult<(f64, f64)> {
    let dev = Device::Cpu;
    let vars = VarMap::new();
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &dev);
    let policy = Policy::new(kind, 2, vb)?;
    let mut opt = AdamW::new_lr(vars.all_vars(), 1e-4)?;
    let images = [
        Tensor::rand(0f32, 1f32, (batch, 3, size, size), &dev)?,
        Tensor::rand(0f32, 1f32, (batch, 3, size, size), &dev)?,
    ];
    let state = Tensor::rand(-1f32, 1f32, (batch, 9), &dev)?;
    let target = Tensor::rand(-1f32, 1f32, (batch, 7), &dev)?;
    let step = |opt: &mut AdamW| -> CResult<()> {
        let loss = (policy.forward(&images, &state)? - &target)?
            .sqr()?
            .mean_all()?;
        opt.backward_step(&loss)
    };
    step(&mut opt)?; // warm-up (allocation, thread pool)
    let t = Instant::now();
    for _ in 0..steps {
        step(&mut opt)?;
    }
    let train = (steps * batch) as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..steps {
        policy.forward(&images, &state)?;
    }
    let infer = (steps * batch) as f64 / t.elapsed().as_secs_f64();
    Ok((train, infer))
}

pub fn run(size: u32, batch: u32, steps: u32) -> Result<(), String> {
    let (size, batch, steps) = (size as usize, batch as usize, steps as usize);
    println!(
        "image policy bench: two {size}x{size} cameras + 9 state values -> MLP(1024, 1024) -> 7, batch {batch}, {steps} steps, candle on the CPU"
    );
    // robomimic's image BC (its paper's image runs): 2000 epochs of 100 gradient steps
    // with batch 16.
    let robomimic_samples = 2000.0 * 100.0 * 16.0;
    for kind in ["small", "resnet18"] {
        let (train, infer) = measure(kind, size, batch, steps).map_err(|e| e.to_string())?;
        println!(
            "  {kind:>8}: {train:8.1} samples/s training, {infer:8.1} samples/s inference; robomimic's schedule ({robomimic_samples:.1e} samples) would take {:.1} h",
            robomimic_samples / train / 3600.0
        );
    }
    Ok(())
}

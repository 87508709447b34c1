//! The innermost loop of the project's camera renderer (`dmgen::camera`): filling one
//! perspective triangle into an RGB image with a z-buffer.
//!
//! A crate of its own so that the browser build can optimise it for speed while the rest
//! of the project's code is optimised for size: the page module is built at opt-level "z",
//! which made two 84x84 cameras cost about 37% of an attempt in the page against 23%
//! natively; this loop is most of a frame's time. Plain f64 arithmetic only (no SIMD, no
//! fused multiply-add), so native and wasm32 images are the same bytes.

/// The image a triangle is drawn into: projection and size.
pub struct Target {
    /// Pixels per unit of x/z at depth 1.
    pub focal: f64,
    /// The image centre (pixels).
    pub cx: f64,
    pub cy: f64,
    /// Image width and height (pixels).
    pub w: u32,
    pub h: u32,
}

/// Fill one camera-space triangle (x right, y up, z the depth along the view axis; all
/// vertices in front of the camera) into `rgb` (row-major RGB, `w * h * 3` bytes) where it
/// is nearer than `zbuf` (inverse depth per pixel, 0 for nothing yet; larger is nearer).
///
/// Each edge function and the inverse depth are affine in screen space, so each row is
/// one span: the columns where all three edge functions are non-negative are found by
/// solving for the span's ends, and only those pixels are visited.
pub fn fill_triangle(
    t: &[[f64; 3]; 3],
    tg: &Target,
    color: [u8; 3],
    rgb: &mut [u8],
    zbuf: &mut [f64],
) {
    // Screen position (x right, y down) and inverse depth of each vertex.
    let s = t.map(|v| {
        let iz = 1.0 / v[2];
        (
            tg.cx + tg.focal * v[0] * iz,
            tg.cy - tg.focal * v[1] * iz,
            iz,
        )
    });
    let area = (s[1].0 - s[0].0) * (s[2].1 - s[0].1) - (s[1].1 - s[0].1) * (s[2].0 - s[0].0);
    if area.abs() < 1e-12 || !area.is_finite() {
        return;
    }
    let inv = 1.0 / area;
    // Barycentric weight of vertex i: edge (i+1, i+2), as a*px + b*py + c.
    let edge = |i: usize| {
        let (p, q) = (s[(i + 1) % 3], s[(i + 2) % 3]);
        let a = -(q.1 - p.1) * inv;
        let b = (q.0 - p.0) * inv;
        let c = -(a * p.0 + b * p.1);
        (a, b, c)
    };
    let e = [edge(0), edge(1), edge(2)];
    // Inverse depth as a plane in screen space.
    let za = e[0].0 * s[0].2 + e[1].0 * s[1].2 + e[2].0 * s[2].2;
    let zb = e[0].1 * s[0].2 + e[1].1 * s[1].2 + e[2].1 * s[2].2;
    let zc = e[0].2 * s[0].2 + e[1].2 * s[1].2 + e[2].2 * s[2].2;
    let min_x = s[0].0.min(s[1].0).min(s[2].0);
    let max_x = s[0].0.max(s[1].0).max(s[2].0);
    let min_y = s[0].1.min(s[1].1).min(s[2].1);
    let max_y = s[0].1.max(s[1].1).max(s[2].1);
    let (wf, hf) = (tg.w as f64, tg.h as f64);
    let x0 = (min_x - 0.5).ceil().max(0.0);
    let y0 = (min_y - 0.5).ceil().max(0.0);
    let x1 = (max_x - 0.5).floor().min(wf - 1.0);
    let y1 = (max_y - 0.5).floor().min(hf - 1.0);
    if x1 < x0 || y1 < y0 {
        return;
    }
    let w = tg.w as usize;
    let mut y = y0;
    while y <= y1 {
        let py = y + 0.5;
        // Columns (pixel centres px) where every weight is >= 0.
        let (mut lo, mut hi) = (x0 + 0.5, x1 + 0.5);
        for (a, b, c) in e {
            let k = b * py + c;
            if a > 0.0 {
                lo = lo.max(-k / a);
            } else if a < 0.0 {
                hi = hi.min(-k / a);
            } else if k < 0.0 {
                hi = f64::NEG_INFINITY;
            }
        }
        if lo <= hi {
            let xa = (lo - 0.5).ceil().max(x0) as usize;
            let xb = (hi - 0.5).floor().min(x1);
            if xb >= xa as f64 {
                let row = y as usize * w;
                let zrow = zb * py + zc;
                for x in xa..=xb as usize {
                    let iz = za * (x as f64 + 0.5) + zrow;
                    let k = row + x;
                    if iz > zbuf[k] {
                        zbuf[k] = iz;
                        rgb[3 * k] = color[0];
                        rgb[3 * k + 1] = color[1];
                        rgb[3 * k + 2] = color[2];
                    }
                }
            }
        }
        y += 1.0;
    }
}

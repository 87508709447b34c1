//! Success rates as statistics: the 95% Wilson score interval that every table, the CLI
//! and the page report with a rate.

/// Wilson score interval (95%) of `k` successes in `n` trials; `[0, 1]` when `n` is 0.
pub fn wilson(k: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let z = 1.959_963_984_540_054_f64;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    // At 0 or n successes one bound is exactly 0 or 1 (the formula leaves rounding dust).
    let lo = if k == 0.0 { 0.0 } else { (c - h).max(0.0) };
    let hi = if k == n { 1.0 } else { (c + h).min(1.0) };
    [lo, hi]
}

#[cfg(test)]
mod tests {
    use super::wilson;

    #[test]
    fn wilson_closed_forms_and_symmetry() {
        let z2 = 1.959_963_984_540_054_f64.powi(2);
        assert_eq!(wilson(0, 0), [0.0, 1.0]);
        // No successes: upper bound z^2 / (n + z^2); all successes: lower n / (n + z^2).
        let [lo, hi] = wilson(0, 10);
        assert!(
            lo.abs() < 1e-12 && (hi - z2 / (10.0 + z2)).abs() < 1e-12,
            "{hi}"
        );
        let [lo, hi] = wilson(10, 10);
        assert!(
            (hi - 1.0).abs() < 1e-12 && (lo - 10.0 / (10.0 + z2)).abs() < 1e-12,
            "{lo}"
        );
        // k of n mirrors n - k of n, and a rate of one half is centred.
        for (k, n) in [(3, 50), (24, 50), (1, 7)] {
            let [a, b] = wilson(k, n);
            let [c, d] = wilson(n - k, n);
            assert!((a - (1.0 - d)).abs() < 1e-12 && (b - (1.0 - c)).abs() < 1e-12);
            assert!(a < k as f64 / n as f64 && b > k as f64 / n as f64);
        }
        let [lo, hi] = wilson(25, 50);
        assert!((lo + hi - 1.0).abs() < 1e-12 && (hi - lo) > 0.25 && (hi - lo) < 0.28);
    }
}

//! `dmgen export-sample OUT.hdf5 [--episodes N] [--steps T] [--threads K] [--deflate LEVEL]`:
//! write a synthetic robomimic dataset (not simulated) so file-format checks have something
//! to open. It runs like a generation: attempts on `K` threads, one in five failing by a
//! fixed rule, the first `N` successes in attempt order kept, so the bytes never depend
//! on `K`. `seconds` in the stored statistics is 0 to keep the file reproducible.

use dmgen::config::GenerationConfig;
use dmgen::export::{synthetic_episode, DatasetWriter, ExportOptions, GenerationStats};
use dmgen::generate::parallel::{run_ordered, Flow};
use dmgen::rng::mix64;

/// Whether synthetic attempt `i` "succeeds" (four in five do).
fn sample_attempt_succeeds(i: u64) -> bool {
    mix64(i ^ 0x0D4A_75E7) % 5 != 4
}

/// The sample dataset's bytes.
pub fn sample_bytes(
    episodes: u32,
    steps: usize,
    threads: usize,
    options: ExportOptions,
) -> Result<Vec<u8>, String> {
    let config = GenerationConfig {
        episodes,
        ..Default::default()
    };
    config.validate().map_err(|e| e.to_string())?;
    let mut writer = DatasetWriter::with_options(&config, options).map_err(|e| e.to_string())?;
    let mut stats = GenerationStats::default();
    let mut failure = None;
    let label = (config.method.as_str(), config.variant.as_str());
    run_ordered(
        threads,
        config.attempt_budget(),
        |i| sample_attempt_succeeds(i).then(|| synthetic_episode(i, steps)),
        |_, episode| {
            match episode {
                Some(ep) => {
                    stats.record(label.0, label.1, None);
                    if let Err(e) = writer.add_episode(&ep) {
                        failure = Some(e.to_string());
                        return Flow::Stop;
                    }
                }
                None => stats.record(label.0, label.1, Some("synthetic failure")),
            }
            if writer.episodes() >= episodes as usize {
                Flow::Stop
            } else {
                Flow::Continue
            }
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }
    stats.kept = writer.episodes() as u64;
    writer.finish(&stats).map_err(|e| e.to_string())
}

#[derive(clap::Args, Debug)]
pub struct ExportSampleArgs {
    /// Output file
    #[arg(value_name = "OUT.hdf5")]
    pub out: String,
    /// Synthetic episodes to keep
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub episodes: u32,
    /// Steps per episode
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub steps: u64,
    /// Worker threads
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: u64,
    /// Deflate level of the datasets (0-9; default: uncompressed)
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=9))]
    pub deflate: Option<u8>,
}

/// Run the command.
pub fn run(a: ExportSampleArgs) -> Result<(), String> {
    let (out, episodes, steps, threads) =
        (&a.out, a.episodes, a.steps as usize, a.threads as usize);
    let options = ExportOptions {
        deflate_level: a.deflate.map(Into::into),
    };
    let bytes = sample_bytes(episodes, steps, threads, options)?;
    std::fs::write(out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    println!(
        "wrote {out}: {episodes} synthetic episodes x {steps} steps, {} bytes",
        bytes.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_bytes_do_not_depend_on_thread_count() {
        let one = sample_bytes(9, 10, 1, ExportOptions::default()).unwrap();
        for threads in [2, 4] {
            assert_eq!(
                sample_bytes(9, 10, threads, ExportOptions::default()).unwrap(),
                one
            );
        }
        assert_ne!(
            sample_bytes(8, 10, 2, ExportOptions::default()).unwrap(),
            one
        );
    }

    #[test]
    fn sample_keeps_the_first_successes_in_attempt_order() {
        let bytes = sample_bytes(6, 5, 3, ExportOptions::default()).unwrap();
        let f = hdf5_pure::File::from_bytes(bytes).unwrap();
        let expected: Vec<i64> = (0..100)
            .filter(|&i| sample_attempt_succeeds(i))
            .take(6)
            .map(|i| i as i64)
            .collect();
        assert!(
            expected.iter().enumerate().any(|(k, &i)| k as i64 != i),
            "some attempt fails"
        );
        for (k, attempt) in expected.iter().enumerate() {
            let g = f.group(&format!("data/demo_{k}")).unwrap();
            assert_eq!(g.attrs().unwrap()["dmgen_attempt"].as_i64(), Some(*attempt));
        }
    }

    #[test]
    fn bad_arguments_are_reported() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct Cli {
            #[command(flatten)]
            a: ExportSampleArgs,
        }
        let parse = |v: &[&str]| Cli::try_parse_from(std::iter::once("x").chain(v.iter().copied()));
        assert!(parse(&[]).unwrap_err().to_string().contains("OUT.hdf5"));
        assert!(parse(&["a.hdf5", "--steps", "x"])
            .unwrap_err()
            .to_string()
            .contains("--steps"));
        assert!(parse(&["a.hdf5", "--bogus"])
            .unwrap_err()
            .to_string()
            .contains("--bogus"));
        assert!(parse(&["a.hdf5", "--episodes", "0"])
            .unwrap_err()
            .to_string()
            .contains("--episodes"));
        assert_eq!(parse(&["a.hdf5"]).unwrap().a.episodes, 12);
    }
}

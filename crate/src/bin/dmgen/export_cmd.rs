//! `dmgen export-sample OUT.hdf5 [--episodes N] [--steps T] [--threads K] [--deflate LEVEL]`:
//! write a synthetic robomimic dataset (not simulated) so file-format checks have something
//! to open. It runs like a generation: attempts on `K` threads, one in five failing by a
//! fixed rule, the first `N` successes in attempt order kept, so the bytes never depend
//! on `K`. `seconds` in the stored statistics is 0 to keep the file reproducible.

use crate::parallel::{run_ordered, Flow};
use dmgen::config::GenerationConfig;
use dmgen::export::{synthetic_episode, DatasetWriter, ExportOptions, GenerationStats};
use dmgen::rng::mix64;

const USAGE: &str =
    "usage: dmgen export-sample OUT.hdf5 [--episodes N] [--steps T] [--threads K] [--deflate LEVEL]";

fn parse<T: std::str::FromStr>(flag: &str, value: Option<&String>) -> Result<T, String> {
    let v = value.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: '{v}' is not a valid number"))
}

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

/// Run the command with the arguments after its name.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut out: Option<&String> = None;
    let mut episodes: u32 = 12;
    let mut steps: usize = 40;
    let mut threads: usize = 1;
    let mut options = ExportOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--episodes" => episodes = parse(a, it.next())?,
            "--steps" => steps = parse(a, it.next())?,
            "--threads" => threads = parse(a, it.next())?,
            "--deflate" => options.deflate_level = Some(parse(a, it.next())?),
            s if s.starts_with('-') => {
                return Err(format!("export-sample: unknown option '{s}'\n{USAGE}"))
            }
            _ if out.is_none() => out = Some(a),
            _ => return Err(format!("export-sample: unexpected argument '{a}'\n{USAGE}")),
        }
    }
    let out = out.ok_or(USAGE)?;
    if steps == 0 {
        return Err("--steps must be at least 1".into());
    }
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
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(run(&s(&[])).unwrap_err().contains("usage"));
        assert!(run(&s(&["a.hdf5", "--steps", "x"]))
            .unwrap_err()
            .contains("--steps"));
        assert!(run(&s(&["a.hdf5", "--bogus"]))
            .unwrap_err()
            .contains("unknown option"));
        assert!(run(&s(&["a.hdf5", "--episodes", "0"]))
            .unwrap_err()
            .contains("episodes"));
    }
}

//! A whole generation run on native threads, shared by the CLI and the Python package
//! (the page drives [`DatasetAssembler`] from its web workers itself).
//!
//! Attempts run on [`run_ordered`]'s threads and reach the assembler strictly in index
//! order, so the bytes written do not depend on the thread count. Nothing here reads the
//! clock: a face that reports seconds measures them itself.

use super::parallel::{run_ordered, Flow};
use super::{Attempt, DatasetAssembler, GenError, GenerationStats, Generator};
use crate::config::GenerationConfig;
use std::io::{Seek, SeekFrom, Write};

/// What a run wrote.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The run's statistics (`seconds` is 0: the caller times the run).
    pub stats: GenerationStats,
    pub attempts: u64,
    pub kept: u64,
    /// Bytes written to the output.
    pub bytes: u64,
}

fn io(e: std::io::Error) -> GenError {
    GenError::Invalid(format!("cannot write the dataset: {e}"))
}

/// Generate `cfg`'s dataset with `generator` on `threads` threads, writing it to `out`
/// (from its start) as attempts arrive, so memory does not grow with the run; failed
/// attempts are streamed into `failed` when given. `progress` sees the assembler after
/// every attempt.
pub fn write_dataset<W: Write + Seek, F: Write + Seek>(
    generator: &Generator,
    cfg: &GenerationConfig,
    threads: usize,
    out: &mut W,
    mut failed: Option<&mut F>,
    mut progress: impl FnMut(&DatasetAssembler),
) -> Result<RunOutput, GenError> {
    let mut asm = DatasetAssembler::new(cfg)?;
    if failed.is_some() {
        asm = asm.keeping_failed(cfg)?;
    }
    let mut err: Option<GenError> = None;
    out.seek(SeekFrom::Start(0)).map_err(io)?;
    // Room for the superblock, written last.
    out.write_all(&[0u8; 48]).map_err(io)?;
    if let Some(f) = failed.as_mut() {
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&[0u8; 48]).map_err(io)?;
    }
    run_ordered(
        threads,
        cfg.attempt_budget(),
        |i| generator.attempt(i),
        |_, a: Attempt| {
            let pushed = asm
                .push(&a)
                .and_then(|done| out.write_all(&asm.take_output()).map_err(io).map(|_| done))
                .and_then(|done| match failed.as_mut() {
                    Some(f) => f
                        .write_all(&asm.take_failed_output())
                        .map_err(io)
                        .map(|_| done),
                    None => Ok(done),
                });
            match pushed {
                Ok(done) => {
                    progress(&asm);
                    if done {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                }
                Err(e) => {
                    err = Some(e);
                    Flow::Stop
                }
            }
        },
    );
    if let Some(e) = err {
        return Err(e);
    }
    if let (Some(f), Some((rest, superblock))) = (failed.as_mut(), asm.finish_failed_streaming()?) {
        f.write_all(&rest).map_err(io)?;
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&superblock).map_err(io)?;
        f.flush().map_err(io)?;
    }
    let stats = asm.stats().clone();
    let (attempts, kept) = (stats.attempts, stats.kept);
    let (rest, superblock) = asm.finish_streaming()?;
    out.write_all(&rest).map_err(io)?;
    let bytes = out.stream_position().map_err(io)?;
    out.seek(SeekFrom::Start(0)).map_err(io)?;
    out.write_all(&superblock).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(RunOutput {
        stats,
        attempts,
        kept,
        bytes,
    })
}

/// The attempts `first..end` of `generator`, kept and failed, in index order, computed on
/// `threads` threads (a shard's content: [`super::shard::write_shard`]). `progress` gets
/// the attempts done and the successes among them after each one.
pub fn attempt_range(
    generator: &Generator,
    first: u64,
    end: u64,
    threads: usize,
    mut progress: impl FnMut(u64, u64),
) -> Vec<Attempt> {
    let n = end.saturating_sub(first);
    let mut attempts = Vec::with_capacity(n as usize);
    let mut successes = 0u64;
    run_ordered(
        threads,
        n,
        |i| generator.attempt(first + i),
        |_, a: Attempt| {
            successes += u64::from(a.success);
            attempts.push(a);
            progress(attempts.len() as u64, successes);
            Flow::Continue
        },
    );
    attempts
}

/// What [`generate_file`] wrote.
#[derive(Clone, Debug)]
pub struct FileRun {
    pub output: RunOutput,
    /// Wall-clock seconds, from the caller's clock.
    pub seconds: f64,
    pub sha256: String,
}

/// The summary every face prints or returns after a generation (`dmgen generate`'s JSON
/// line, `dmgen.generate`'s dict).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub episodes: u64,
    pub attempts: u64,
    pub success_rate: f64,
    pub seconds: f64,
    pub episodes_per_second: f64,
    pub format: String,
    pub files: u64,
    pub bytes: u64,
    pub sha256: String,
    pub out: String,
}

impl Summary {
    pub fn new(
        run: &FileRun,
        format: &str,
        files: u64,
        bytes: u64,
        sha256: &str,
        out: &str,
    ) -> Self {
        let (kept, attempts, s) = (run.output.kept, run.output.attempts, run.seconds);
        Summary {
            episodes: kept,
            attempts,
            success_rate: if attempts > 0 {
                kept as f64 / attempts as f64
            } else {
                0.0
            },
            seconds: s,
            episodes_per_second: if s > 0.0 { kept as f64 / s } else { 0.0 },
            format: format.into(),
            files,
            bytes,
            sha256: sha256.into(),
            out: out.into(),
        }
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Where the statistics go next to dataset `dest`: `F.json` for `F.hdf5` or `F.zip`,
/// `DEST.json` otherwise.
pub fn sidecar_path(dest: &str) -> String {
    match dest.strip_suffix(".hdf5").or(dest.strip_suffix(".zip")) {
        Some(stem) => format!("{stem}.json"),
        None => format!("{dest}.json"),
    }
}

/// The message of a run that kept fewer episodes than asked.
pub fn shortfall_message(cfg: &GenerationConfig, kept: u64, sidecar: &str) -> String {
    format!(
        "only {kept} of {} episodes succeeded within the attempt budget of {} (see the failure reasons in {sidecar}); raise max_attempts or check the demo and segmentation",
        cfg.episodes,
        cfg.attempt_budget()
    )
}

fn file_err(path: &str, e: std::io::Error) -> GenError {
    GenError::Invalid(format!("cannot write '{path}': {e}"))
}

/// SHA-256 of a file, read in pieces.
pub fn file_sha256(path: &str) -> Result<String, GenError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let err = |e: std::io::Error| GenError::Invalid(format!("cannot read '{path}': {e}"));
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Generate `cfg`'s dataset into the file `out` (and the failed attempts into
/// `keep_failed`), each written beside its destination as `.partial` and renamed when
/// complete, so an interrupted run never leaves a truncated file under the requested
/// name; then write the configuration and statistics to `sidecar` (`{"config", "stats"}`,
/// the statistics with the wall-clock seconds `elapsed` reports; the HDF5 file keeps
/// them at 0 to stay reproducible).
#[allow(clippy::too_many_arguments)]
pub fn generate_file(
    generator: &Generator,
    cfg: &GenerationConfig,
    threads: usize,
    out: &str,
    keep_failed: Option<&str>,
    sidecar: &str,
    progress: impl FnMut(&DatasetAssembler),
    elapsed: &dyn Fn() -> f64,
) -> Result<FileRun, GenError> {
    let partial = format!("{out}.partial");
    let create = |p: &str| {
        std::fs::File::create(p)
            .map(|f| std::io::BufWriter::with_capacity(1 << 20, f))
            .map_err(|e| file_err(p, e))
    };
    let mut file = create(&partial)?;
    let failed_partial = keep_failed.map(|p| format!("{p}.partial"));
    let mut failed_file = match &failed_partial {
        Some(p) => Some(create(p)?),
        None => None,
    };
    let result = write_dataset(
        generator,
        cfg,
        threads,
        &mut file,
        failed_file.as_mut(),
        progress,
    );
    drop(file);
    drop(failed_file);
    let output = result.inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
        if let Some(p) = &failed_partial {
            let _ = std::fs::remove_file(p);
        }
    })?;
    std::fs::rename(&partial, out).map_err(|e| file_err(out, e))?;
    if let (Some(p), Some(dest)) = (&failed_partial, keep_failed) {
        std::fs::rename(p, dest).map_err(|e| file_err(dest, e))?;
    }
    let seconds = elapsed();
    let mut stats = output.stats.clone();
    stats.seconds = seconds;
    let text = format!(
        "{{\"config\":{},\"stats\":{}}}\n",
        cfg.to_canonical_json()?,
        stats.to_canonical_json()
    );
    std::fs::write(sidecar, text).map_err(|e| file_err(sidecar, e))?;
    Ok(FileRun {
        sha256: file_sha256(out)?,
        output,
        seconds,
    })
}

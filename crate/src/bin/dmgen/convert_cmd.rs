//! `dmgen convert IN.hdf5 --out DIR|FILE.zip`: a robomimic low-dim dataset (this tool's
//! or any other) as a LeRobot v3.0 dataset, and the writer `dmgen generate --format
//! lerobot` uses.

use dmgen::export::lerobot::{robomimic_to_lerobot, zip_dataset, LeRobotDataset, LeRobotOptions};
use std::path::Path;

/// `dmgen convert`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "OUT ending in .zip gets one archive whose top folder is the file's stem (what the page downloads); \
otherwise OUT is a new directory, the dataset root for LeRobotDataset(repo_id, root=OUT). \
The whole input file is read into memory (about twice its size at the peak). \
stdout gets one JSON summary line."
)]
pub struct ConvertArgs {
    /// robomimic HDF5 dataset with low-dim observations
    #[arg(value_name = "IN.hdf5")]
    pub input: String,
    /// Output directory (must not exist or be empty) or FILE.zip
    #[arg(long, value_name = "DIR|FILE.zip")]
    pub out: String,
    /// Frames per second [default: env_args.env_kwargs.control_freq, else 20]
    #[arg(long)]
    pub fps: Option<f64>,
    /// Task string [default: the description of the task the file names, else its env_name]
    #[arg(long)]
    pub task_text: Option<String>,
    /// Uncompressed MB of frames per data file, 1-100000
    #[arg(long, default_value_t = dmgen::export::lerobot::DATA_FILE_MB,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub data_file_mb: u64,
}

/// What was written.
pub struct Written {
    pub files: usize,
    pub bytes: u64,
    /// sha256 over `path\nsha256(file)\n` of every file in order (the zip: of the archive).
    pub sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Write `ds` as a directory tree under `out` or, for `*.zip`, as one archive whose top
/// folder is the file's stem. The tree is built under `OUT.partial` and renamed, so an
/// interrupted run never leaves a partial dataset under the requested name.
pub fn write_dataset(ds: &LeRobotDataset, out: &str) -> Result<Written, String> {
    let path = Path::new(out);
    if let Some(stem) = out.strip_suffix(".zip") {
        let root = Path::new(stem)
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("lerobot");
        let zip = zip_dataset(root, &ds.files).map_err(|e| e.to_string())?;
        let partial = format!("{out}.partial");
        std::fs::write(&partial, &zip).map_err(|e| format!("cannot write '{partial}': {e}"))?;
        std::fs::rename(&partial, out).map_err(|e| format!("cannot write '{out}': {e}"))?;
        return Ok(Written {
            files: ds.files.len(),
            bytes: zip.len() as u64,
            sha256: hex(&zip),
        });
    }
    if path.exists() {
        let empty = std::fs::read_dir(path)
            .map_err(|e| format!("'{out}' exists and is not a readable directory: {e}"))?
            .next()
            .is_none();
        if !empty {
            return Err(format!(
                "'{out}' exists and is not empty; give a new directory (LeRobot datasets are written whole)"
            ));
        }
        std::fs::remove_dir(path).map_err(|e| format!("cannot replace '{out}': {e}"))?;
    }
    let partial = format!("{out}.partial");
    let _ = std::fs::remove_dir_all(&partial);
    let mut manifest = String::new();
    let mut bytes = 0u64;
    for (rel, data) in &ds.files {
        let p = Path::new(&partial).join(rel);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
        }
        std::fs::write(&p, data).map_err(|e| format!("cannot write '{}': {e}", p.display()))?;
        manifest.push_str(&format!("{rel}\n{}\n", hex(data)));
        bytes += data.len() as u64;
    }
    std::fs::rename(&partial, out).map_err(|e| format!("cannot write '{out}': {e}"))?;
    Ok(Written {
        files: ds.files.len(),
        bytes,
        sha256: hex(manifest.as_bytes()),
    })
}

/// Convert the robomimic file `bytes` and write it to `out`.
pub fn convert(
    bytes: Vec<u8>,
    options: &LeRobotOptions,
    out: &str,
) -> Result<(LeRobotDataset, Written), String> {
    let ds = robomimic_to_lerobot(bytes, options).map_err(|e| e.to_string())?;
    let written = write_dataset(&ds, out)?;
    Ok((ds, written))
}

pub fn run(a: ConvertArgs) -> Result<(), String> {
    let bytes = std::fs::read(&a.input).map_err(|e| format!("cannot read '{}': {e}", a.input))?;
    let options = LeRobotOptions {
        fps: a.fps,
        task: a.task_text.clone(),
        data_file_mb: a.data_file_mb,
    };
    let (ds, w) = convert(bytes, &options, &a.out).map_err(|e| format!("{}: {e}", a.input))?;
    println!(
        "{}",
        serde_json::json!({
            "format": "lerobot",
            "episodes": ds.episodes,
            "frames": ds.frames,
            "fps": ds.fps,
            "task": ds.task,
            "files": w.files,
            "bytes": w.bytes,
            "sha256": w.sha256,
            "out": a.out,
        })
    );
    Ok(())
}

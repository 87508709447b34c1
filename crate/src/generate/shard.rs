//! Shards: the attempts of one index range, written by one machine, merged into the same
//! dataset one machine would write. `dmgen generate --attempts A..B` writes a shard and
//! `dmgen merge` assembles shards (Slurm or Kubernetes array jobs, or the Python package's
//! Ray runner); see docs/scale.md.
//!
//! A shard is an HDF5 file, so ordinary tools can list it:
//! - root attributes `dmgen_shard_format` ([`SHARD_FORMAT`]), `dmgen_config` (the
//!   generation configuration's canonical JSON), `first` and `end` (the range, end
//!   exclusive) and `successes`;
//! - group `attempts` with one group per attempt, `attempt_<index>`, holding the attempt
//!   exactly ([`Attempt::to_bytes`]) in the uint8 dataset `record` (rows of 4,096 bytes,
//!   deflated, the last row zero-padded), with attributes `bytes` (the record's length),
//!   `success` and `failure` (the failure reason, empty for a success).
//!
//! Because attempt `i` depends only on the configuration, the demo and `i`, merging the
//! shards of a configuration in index order and keeping the first N successes gives the
//! bytes `dmgen generate` writes for N episodes, however the range was split.

use super::{Attempt, DatasetAssembler, GenError};
use crate::config::GenerationConfig;
use crate::export::h5::{superblock, Attr, Block, SUPERBLOCK_LEN};

/// `dmgen_shard_format` of the shards this build writes and reads.
pub const SHARD_FORMAT: &str = "dmgen-shard/1";
/// Bytes per row of an attempt's record.
const RECORD_ROW: usize = 4096;
/// Most attempts in one shard. A shard is assembled in memory (about 65 kB per stack
/// attempt, twice while it is encoded), so a range stays a few GB at most; cut larger runs
/// into more shards.
pub const MAX_SHARD_ATTEMPTS: u64 = 20_000;

fn bad(m: impl Into<String>) -> GenError {
    GenError::Invalid(m.into())
}

/// Write the attempts `first..first + attempts.len()` of `config` as a shard file.
pub fn write_shard(
    config: &GenerationConfig,
    first: u64,
    attempts: &[Attempt],
) -> Result<Vec<u8>, GenError> {
    let json = config.to_canonical_json()?;
    let mut b = Block::new(SUPERBLOCK_LEN);
    let h5 = |e: crate::export::h5::H5Error| bad(format!("cannot write the shard: {}", e.0));
    let mut members = Vec::with_capacity(attempts.len());
    for (k, a) in attempts.iter().enumerate() {
        let index = first + k as u64;
        if a.index != index {
            return Err(bad(format!(
                "attempt {} given at position {index} of the shard",
                a.index
            )));
        }
        // Rows of RECORD_ROW bytes (the last zero-padded; `bytes` says where it ends):
        // hdf5-pure 0.47 cannot read a single deflated chunk with a dimension above
        // 65,535 (its encoded size then takes 3 bytes), which h5py reads; rows keep every
        // chunk dimension small for both.
        let mut bytes = a.to_bytes();
        let len = bytes.len();
        bytes.resize(len.div_ceil(RECORD_ROW) * RECORD_ROW, 0);
        let rows = (bytes.len() / RECORD_ROW) as u64;
        let ds = b
            .u8s(&bytes, &[rows, RECORD_ROW as u64], Some(6))
            .map_err(h5)?;
        // The attributes live on a group holding the dataset: the writer puts attributes
        // on groups only.
        let g = b
            .group(
                &[("record".to_string(), ds)],
                &[
                    ("bytes", Attr::I64(len as i64)),
                    ("success", Attr::I64(i64::from(a.success))),
                    (
                        "failure",
                        Attr::Str(a.failure.map_or("", |f| f.as_str()).to_string()),
                    ),
                ],
            )
            .map_err(h5)?;
        members.push((format!("attempt_{index}"), g));
    }
    let group = b.group(&members, &[]).map_err(h5)?;
    let successes = attempts.iter().filter(|a| a.success).count() as i64;
    let end = first + attempts.len() as u64;
    let root = b
        .group(
            &[("attempts".to_string(), group)],
            &[
                ("dmgen_shard_format", Attr::Str(SHARD_FORMAT.to_string())),
                ("dmgen_config", Attr::Str(json)),
                ("first", Attr::U64(first)),
                ("end", Attr::U64(end)),
                ("successes", Attr::I64(successes)),
            ],
        )
        .map_err(h5)?;
    let eof = b.end();
    let mut out = superblock(eof, root).to_vec();
    out.extend_from_slice(&b.into_bytes());
    Ok(out)
}

/// A shard read back.
#[derive(Clone, Debug)]
pub struct Shard {
    /// The configuration's canonical JSON.
    pub config_json: String,
    pub first: u64,
    pub end: u64,
    /// The attempts `first..end`, in order.
    pub attempts: Vec<Attempt>,
}

/// Read a shard file; `name` labels the messages.
pub fn read_shard(bytes: Vec<u8>, name: &str) -> Result<Shard, GenError> {
    let e = |m: String| bad(format!("{name}: {m}"));
    if !bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
        return Err(e("not an HDF5 file (signature missing)".into()));
    }
    let file =
        hdf5_pure::File::from_bytes(bytes).map_err(|x| e(format!("cannot open the file: {x}")))?;
    let root = file
        .root()
        .attrs()
        .map_err(|x| e(format!("cannot read its attributes: {x}")))?;
    let text = |k: &str| root.get(k).and_then(|v| v.as_str()).map(str::to_string);
    match text("dmgen_shard_format") {
        Some(f) if f == SHARD_FORMAT => {}
        Some(f) => {
            return Err(e(format!(
                "a shard of format '{f}'; this build reads '{SHARD_FORMAT}'"
            )))
        }
        None => {
            return Err(e(
                "not a shard (no dmgen_shard_format attribute); shards come from `dmgen generate --attempts A..B`".into(),
            ))
        }
    }
    let config_json = text("dmgen_config").ok_or_else(|| e("no dmgen_config".into()))?;
    let num = |k: &str| -> Result<u64, GenError> {
        root.get(k)
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_i64().and_then(|x| u64::try_from(x).ok()))
            })
            .ok_or_else(|| e(format!("no '{k}' attribute")))
    };
    let (first, end) = (num("first")?, num("end")?);
    if end < first || end - first > MAX_SHARD_ATTEMPTS {
        return Err(e(format!(
            "the range {first}..{end} is not a valid shard range"
        )));
    }
    let mut attempts = Vec::with_capacity((end - first) as usize);
    for i in first..end {
        let group = format!("attempts/attempt_{i}");
        let len = file
            .group(&group)
            .and_then(|g| g.attrs())
            .ok()
            .and_then(|a| a.get("bytes").and_then(|v| v.as_i64()))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                e(format!(
                    "attempt {i} is missing or has no 'bytes' attribute"
                ))
            })?;
        let mut data = file
            .dataset(&format!("{group}/record"))
            .and_then(|d| d.read_u8())
            .map_err(|x| e(format!("attempt {i} is unreadable ({x})")))?;
        if data.len() < len {
            return Err(e(format!(
                "attempt {i}'s record is shorter than its 'bytes'"
            )));
        }
        data.truncate(len);
        let a = Attempt::from_bytes(&data).map_err(|x| e(format!("attempt {i}: {x}")))?;
        if a.index != i {
            return Err(e(format!(
                "the record of attempt {i} holds attempt {}",
                a.index
            )));
        }
        attempts.push(a);
    }
    Ok(Shard {
        config_json,
        first,
        end,
        attempts,
    })
}

/// What [`merge_shards`] produced.
pub struct Merged {
    /// The robomimic dataset.
    pub bytes: Vec<u8>,
    pub attempts: u64,
    pub kept: u64,
}

/// Assemble the first `episodes` successes of `shards` (any order; together they must
/// cover attempts `0..` without gaps or overlaps up to the last one needed) into the
/// dataset `dmgen generate` writes for the shards' configuration with `episodes`.
pub fn merge_shards(mut shards: Vec<Shard>, episodes: u32) -> Result<Merged, GenError> {
    let Some(head) = shards.first() else {
        return Err(bad("no shards to merge"));
    };
    let json = head.config_json.clone();
    if let Some(other) = shards.iter().find(|s| s.config_json != json) {
        return Err(bad(format!(
            "the shards come from different configurations (the one of attempts {}..{} differs from that of attempts {}..{})",
            other.first, other.end, head.first, head.end
        )));
    }
    let mut config = GenerationConfig::from_json(&json)?;
    config.set_episodes(episodes);
    config.validate()?;
    shards.sort_by_key(|s| (s.first, s.end));
    // A shard given twice (a re-run whose first copy did arrive after all) is the same
    // range with the same attempts: keep one. Two different files for one range remain an
    // overlap.
    shards.dedup_by(|b, a| a.first == b.first && a.end == b.end && a.attempts == b.attempts);
    let mut asm = DatasetAssembler::new(&config)?;
    let mut next = 0u64;
    'shards: for s in &shards {
        if s.first > next {
            return Err(bad(format!(
                "attempts {next}..{} are in no shard (generate them with --attempts {next}..{})",
                s.first, s.first
            )));
        }
        if s.first < next {
            return Err(bad(format!(
                "the shards overlap: attempts {}..{} are in two of them",
                s.first,
                next.min(s.end)
            )));
        }
        for a in &s.attempts {
            if asm.push(a)? {
                break 'shards;
            }
        }
        next = s.end;
    }
    let stats = asm.stats().clone();
    if !asm.is_done() {
        return Err(bad(format!(
            "the shards hold {} successes in attempts 0..{next}; {episodes} are wanted: generate more attempts from {next} on (--attempts {next}..)",
            stats.kept
        )));
    }
    Ok(Merged {
        bytes: asm.finish()?,
        attempts: stats.attempts,
        kept: stats.kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Generator;

    fn config() -> GenerationConfig {
        GenerationConfig {
            task: "lift".into(),
            demo: crate::config::DemoRef::Builtin { id: "lift".into() },
            episodes: 4,
            ..GenerationConfig::default()
        }
    }

    fn shard(g: &Generator, c: &GenerationConfig, r: std::ops::Range<u64>) -> Shard {
        let attempts: Vec<Attempt> = r.clone().map(|i| g.attempt(i)).collect();
        let bytes = write_shard(c, r.start, &attempts).unwrap();
        let s = read_shard(bytes, "s.hdf5").unwrap();
        assert_eq!(s.attempts, attempts);
        s
    }

    /// What one machine writes: every attempt in order into one assembler.
    fn whole(g: &Generator, c: &GenerationConfig) -> Vec<u8> {
        let mut asm = DatasetAssembler::new(c).unwrap();
        let mut i = 0;
        while !asm.push(&g.attempt(i)).unwrap() {
            i += 1;
        }
        asm.finish().unwrap()
    }

    #[test]
    fn merged_shards_are_the_single_machine_dataset() {
        let c = config();
        let g = Generator::new(&c, None).unwrap();
        let expected = whole(&g, &c);
        // Out of order, uneven, and the last shard running past what is needed.
        let shards = vec![shard(&g, &c, 3..9), shard(&g, &c, 0..3)];
        let m = merge_shards(shards.clone(), 4).unwrap();
        assert_eq!(m.bytes, expected);
        assert_eq!(m.kept, 4);
        // Fewer episodes from the same shards: the file of a 2-episode run.
        let c2 = GenerationConfig {
            episodes: 2,
            ..c.clone()
        };
        assert_eq!(
            merge_shards(shards.clone(), 2).unwrap().bytes,
            whole(&g, &c2)
        );
        // A shard delivered twice (a re-run that was not needed) changes nothing.
        let mut twice = shards.clone();
        twice.push(shards[1].clone());
        assert_eq!(merge_shards(twice, 4).unwrap().bytes, expected);
    }

    #[test]
    fn merge_errors_say_what_is_missing() {
        let c = config();
        let g = Generator::new(&c, None).unwrap();
        let msg = |r: Result<Merged, GenError>| r.err().map(|e| e.to_string()).unwrap_or_default();
        let m = msg(merge_shards(
            vec![shard(&g, &c, 0..2), shard(&g, &c, 3..9)],
            4,
        ));
        assert!(m.contains("attempts 2..3 are in no shard"), "{m}");
        let m = msg(merge_shards(
            vec![shard(&g, &c, 0..3), shard(&g, &c, 2..9)],
            4,
        ));
        assert!(m.contains("overlap"), "{m}");
        let m = msg(merge_shards(vec![shard(&g, &c, 0..2)], 4));
        assert!(
            m.contains("are wanted") && m.contains("--attempts 2.."),
            "{m}"
        );
        let other = GenerationConfig {
            seed: 9,
            ..c.clone()
        };
        let g9 = Generator::new(&other, None).unwrap();
        let m = msg(merge_shards(
            vec![shard(&g, &c, 0..3), shard(&g9, &other, 3..9)],
            4,
        ));
        assert!(m.contains("different configurations"), "{m}");
        assert!(msg(merge_shards(vec![], 4)).contains("no shards"));
        // A dataset is not a shard; garbage is not HDF5.
        let m = read_shard(whole(&g, &c), "d.hdf5").unwrap_err().to_string();
        assert!(m.contains("d.hdf5: not a shard"), "{m}");
        let m = read_shard(b"hello".to_vec(), "x").unwrap_err().to_string();
        assert!(m.contains("not an HDF5 file"), "{m}");
    }
}

//! `dmgen export-sample OUT.hdf5 [--episodes N] [--steps T] [--deflate LEVEL]`: write a
//! synthetic robomimic dataset (not simulated) so file-format checks have something to open.

use dmgen::export::{synthetic_dataset, ExportOptions};

fn parse<T: std::str::FromStr>(flag: &str, value: Option<&String>) -> Result<T, String> {
    let v = value.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: '{v}' is not a valid number"))
}

/// Run the command with the arguments after its name.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut out: Option<&String> = None;
    let mut episodes: u32 = 12;
    let mut steps: usize = 40;
    let mut options = ExportOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--episodes" => episodes = parse(a, it.next())?,
            "--steps" => steps = parse(a, it.next())?,
            "--deflate" => options.deflate_level = Some(parse(a, it.next())?),
            s if s.starts_with('-') => return Err(format!("export-sample: unknown option '{s}'")),
            _ if out.is_none() => out = Some(a),
            _ => return Err(format!("export-sample: unexpected argument '{a}'")),
        }
    }
    let out = out.ok_or(
        "usage: dmgen export-sample OUT.hdf5 [--episodes N] [--steps T] [--deflate LEVEL]",
    )?;
    if steps == 0 {
        return Err("--steps must be at least 1".into());
    }
    let bytes = synthetic_dataset(episodes, steps, options).map_err(|e| e.to_string())?;
    std::fs::write(out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    println!(
        "wrote {out}: {episodes} synthetic episodes x {steps} steps, {} bytes",
        bytes.len()
    );
    Ok(())
}

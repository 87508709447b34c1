//! `dmgen segment DEMO_FILE [--demo-index I]`: print the automatic task spec.

use dmgen::demo::read_demo_auto;
use dmgen::segment::segment;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut file: Option<&str> = None;
    let mut index = 0usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--demo-index" => {
                let v = it.next().ok_or("--demo-index needs a value")?;
                index = v
                    .parse()
                    .map_err(|_| format!("--demo-index: '{v}' is not a non-negative integer"))?;
            }
            s if s.starts_with('-') => return Err(format!("segment: unknown option '{s}'")),
            s if file.is_none() => file = Some(s),
            s => return Err(format!("segment: unexpected argument '{s}'")),
        }
    }
    let file = file.ok_or("usage: dmgen segment DEMO_FILE [--demo-index I]")?;
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read '{file}': {e}"))?;
    let demo = read_demo_auto(&bytes, Some(file), index).map_err(|e| format!("{file}: {e}"))?;
    let spec = segment(&demo).map_err(|e| format!("{file}: {e}"))?;
    println!("{}", spec.to_json());
    Ok(())
}

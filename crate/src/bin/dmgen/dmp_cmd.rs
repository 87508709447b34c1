//! `dmgen dmp TRAJ.csv [--goal x,y,z] [--start x,y,z] [--bases N]
//! [--scaling axis|fixed|robust] [--out OUT.csv]`: fit a position DMP to a
//! `t,x,y,z` trajectory and write its rollout at the same timestamps.

use dmgen::dmp::{DmpConfig, PositionDmp, Scaling};
use dmgen::geom::Vec3;

fn parse_vec3(opt: &str, s: &str) -> Result<Vec3, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|c| c.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{opt}: '{s}' is not x,y,z"))?;
    match v.as_slice() {
        [x, y, z] if v.iter().all(|c| c.is_finite()) => Ok(Vec3::new(*x, *y, *z)),
        _ => Err(format!("{opt}: '{s}' must be three finite numbers x,y,z")),
    }
}

/// Parse a `t,x,y,z` CSV (optional header line, `#` comments): (timestamps, positions).
pub fn read_traj_csv(text: &str) -> Result<(Vec<f64>, Vec<Vec3>), String> {
    let mut t = Vec::new();
    let mut ys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || (t.is_empty() && l.starts_with('t')) {
            continue;
        }
        let v: Vec<f64> = l
            .split(',')
            .map(|c| c.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("line {}: expected numbers t,x,y,z, found '{l}'", i + 1))?;
        let [tt, x, y, z] = v.as_slice() else {
            return Err(format!(
                "line {}: expected 4 columns t,x,y,z, found {}",
                i + 1,
                v.len()
            ));
        };
        if v.iter().any(|c| !c.is_finite()) {
            return Err(format!("line {}: NaN or infinite value", i + 1));
        }
        if let Some(&prev) = t.last() {
            if *tt <= prev {
                return Err(format!("line {}: time {tt} is not after {prev}", i + 1));
            }
        }
        t.push(*tt);
        ys.push(Vec3::new(*x, *y, *z));
    }
    if t.len() < 3 {
        return Err(format!("need at least 3 samples, found {}", t.len()));
    }
    Ok((t, ys))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut file: Option<&str> = None;
    let (mut goal, mut start, mut out) = (None, None, None);
    let mut cfg = DmpConfig::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--goal" => goal = Some(parse_vec3(a, val()?)?),
            "--start" => start = Some(parse_vec3(a, val()?)?),
            "--bases" => {
                let v = val()?;
                cfg.n_bases = v
                    .parse()
                    .map_err(|_| format!("--bases: '{v}' is not a positive integer"))?;
            }
            "--scaling" => {
                let v = val()?;
                cfg.scaling = Scaling::parse(v)
                    .ok_or(format!("--scaling: '{v}' is not axis, fixed or robust"))?;
            }
            "--out" => out = Some(val()?.clone()),
            s if s.starts_with('-') => return Err(format!("dmp: unknown option '{s}'")),
            s if file.is_none() => file = Some(s),
            s => return Err(format!("dmp: unexpected argument '{s}'")),
        }
    }
    let file = file.ok_or("usage: dmgen dmp TRAJ.csv [--goal x,y,z] [--start x,y,z] [--bases N] [--scaling axis|fixed|robust] [--out OUT.csv]")?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read '{file}': {e}"))?;
    let (t, ys) = read_traj_csv(&text).map_err(|e| format!("{file}: {e}"))?;
    // The DMP runs at a fixed control period: the mean sample spacing.
    cfg.dt = (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64;
    let model = PositionDmp::fit(&ys, &cfg).map_err(|e| format!("{file}: {e}"))?;
    let start = start.unwrap_or(ys[0]);
    let goal = goal.unwrap_or(ys[ys.len() - 1]);
    let path = model.rollout(start, goal, 0);
    let mut s = String::from("t,x,y,z\n");
    for (tt, y) in t.iter().zip(&path) {
        s.push_str(&format!("{tt},{},{},{}\n", y.x(), y.y(), y.z()));
    }
    match out {
        Some(p) => std::fs::write(&p, s).map_err(|e| format!("cannot write '{p}': {e}"))?,
        None => print!("{s}"),
    }
    Ok(())
}

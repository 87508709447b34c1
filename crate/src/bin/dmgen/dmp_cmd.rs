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

#[derive(clap::Args, Debug)]
pub struct DmpArgs {
    /// Trajectory CSV with columns t,x,y,z (optional header, # comments)
    #[arg(value_name = "TRAJ.csv")]
    pub file: String,
    /// Goal of the rollout as x,y,z in metres [default: the trajectory's last sample]
    #[arg(long, value_name = "X,Y,Z", value_parser = |s: &str| parse_vec3("--goal", s))]
    pub goal: Option<Vec3>,
    /// Start of the rollout as x,y,z in metres [default: the trajectory's first sample]
    #[arg(long, value_name = "X,Y,Z", value_parser = |s: &str| parse_vec3("--start", s))]
    pub start: Option<Vec3>,
    /// Number of Gaussian basis functions (1-1000)
    #[arg(long, default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub bases: u32,
    /// How the forcing term follows a new start and goal
    #[arg(long, default_value = "robust", value_parser = ["axis", "fixed", "robust"])]
    pub scaling: String,
    /// Write the rollout (t,x,y,z) here instead of stdout
    #[arg(long, value_name = "OUT.csv")]
    pub out: Option<String>,
}

pub fn run(a: DmpArgs) -> Result<(), String> {
    let cfg_scaling = Scaling::parse(&a.scaling).ok_or(format!(
        "--scaling: '{}' is not axis, fixed or robust",
        a.scaling
    ))?;
    let mut cfg = DmpConfig {
        n_bases: a.bases as usize,
        scaling: cfg_scaling,
        ..DmpConfig::default()
    };
    let (goal, start, out) = (a.goal, a.start, a.out);
    let file = a.file.as_str();
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn the_default_bases_are_the_libraries() {
        #[derive(Parser, Debug)]
        struct Cli {
            #[command(flatten)]
            a: DmpArgs,
        }
        let a = Cli::try_parse_from(["x", "t.csv"]).unwrap().a;
        assert_eq!(a.bases as usize, DmpConfig::default().n_bases);
        assert_eq!(
            Scaling::parse(&a.scaling),
            Some(DmpConfig::default().scaling)
        );
    }
}

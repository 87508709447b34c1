//! `dmgen`: the native command-line interface to the core.

use std::process::ExitCode;

mod bench_cmd;
mod bench_sim;
mod demo_cmd;
mod dmp_cmd;
mod export_cmd;
mod generate_cmd;
mod parallel;
mod segment_cmd;

const HELP: &str = "\
dmgen: turn one robot demonstration into a physically validated dataset (DynaMimicGen)

USAGE:
    dmgen <COMMAND> [OPTIONS]

COMMANDS:
    demo --task T [--seed S] [--out FILE.json]
                                            Record the task's scripted demonstration
    segment DEMO_FILE [--demo-index I]      Print the automatic task spec (subtasks) as JSON
    dmp TRAJ.csv [--goal x,y,z] [--start x,y,z] [--bases N] [--scaling axis|fixed|robust] [--out OUT.csv]
                                            Fit a position DMP to t,x,y,z and write its rollout
    generate --task T --episodes N --out FILE.hdf5 [--variant V] [--demo FILE] [--config FILE]
             [--seed S] [--method dmg|mimicgen] [--threads K]
                                            Generate a validated robomimic dataset
    bench <dmp|sim|generate>                Print benchmark numbers

OPTIONS:
    -h, --help       Print this help
    -V, --version    Print the version
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let Some(cmd) = args.first() else {
        print!("{HELP}");
        return Ok(());
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "-h" | "--help" | "help" => {
            print!("{HELP}");
            Ok(())
        }
        "-V" | "--version" => {
            println!("dmgen {}", dmgen::version());
            Ok(())
        }
        "segment" => segment_cmd::run(rest),
        "dmp" => dmp_cmd::run(rest),
        "demo" => demo_cmd::run(rest),
        "generate" => generate_cmd::run(rest),
        "bench" => bench_cmd::run(rest),
        // Hidden: a synthetic dataset for file-format checks (tests/python/check_dataset.py).
        "export-sample" => export_cmd::run(rest),
        other => Err(format!("unknown command '{other}' (see dmgen --help)")),
    }
}

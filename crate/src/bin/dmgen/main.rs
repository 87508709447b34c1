//! `dmgen`: the native command-line interface to the core.

use std::process::ExitCode;

mod bench_cmd;
mod bench_generate;
mod bench_sim;
mod demo_cmd;
mod dmp_cmd;
mod export_cmd;
mod generate_cmd;
mod link_cmd;
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
             [--url LINK] [--seed S] [--method dmg|mimicgen] [--threads K]
                                            Generate a validated robomimic dataset
    bench <dmp|sim|generate|results>        Print benchmark numbers (results: the D-MG vs
                                            MimicGen success table of docs/results.md)
    link encode --config FILE [--demo FILE] [--base URL]
                                            Print the share link (URL fragment) of a configuration
    link decode LINK [--demo-out FILE]      Print the canonical configuration JSON of a share link

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
        "link" => link_cmd::run(rest),
        // Hidden: a synthetic dataset for file-format checks (tests/python/check_dataset.py).
        "export-sample" => export_cmd::run(rest),
        other => Err(format!("unknown command '{other}' (see dmgen --help)")),
    }
}

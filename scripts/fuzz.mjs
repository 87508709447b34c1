// `npm run fuzz [-- --runs N] [--asan] [TARGET...]`: run every cargo-fuzz target of fuzz/ for a
// fixed number of executions (default 200000 each) and print a summary. Not part of
// `npm test` (it takes minutes and needs the nightly toolchain).
//
// Each target starts from fuzz/corpus/<target>/, seeded from crate/tests/fixtures and
// fuzz/seeds on the first run; crashes, timeouts and out-of-memory inputs are written to
// fuzz/artifacts/<target>/ and make the command fail. Reproduce one with
//   cargo +nightly fuzz run -s none --debug-assertions <target> <artifact file>
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { capture, log, root, run } from './setup.mjs';

const fixtures = join(root, 'crate', 'tests', 'fixtures');
const seeds = join(root, 'fuzz', 'seeds');
// Small robomimic files (plain and deflate-compressed datasets), written by
// `dmgen export-sample OUT --episodes 2 --steps 4` and `--episodes 1 --steps 6 --deflate 4`.
const hdf5Seeds = readdirSync(join(seeds, 'hdf5')).map((f) => join(seeds, 'hdf5', f));
const TARGETS = {
  demo_json: { seeds: [join(fixtures, 'stack.json')], maxLen: 65536 },
  demo_csv: { seeds: [join(fixtures, 'stack.csv')], maxLen: 65536 },
  demo_hdf5: { seeds: [join(fixtures, 'stack_mimicgen.hdf5'), ...hdf5Seeds], maxLen: 131072 },
  demo_auto: {
    seeds: [...['stack.json', 'stack.csv', 'stack_mimicgen.hdf5'].map((f) => join(fixtures, f)), ...hdf5Seeds],
    maxLen: 131072,
  },
  task_json: {
    seeds: readdirSync(join(root, 'public', 'tasks')).map((f) => join(root, 'public', 'tasks', f)),
    maxLen: 65536,
  },
  link_decode: {
    seeds: readdirSync(join(seeds, 'link')).map((f) => join(seeds, 'link', f)),
    maxLen: 16384,
  },
  link_config: {
    seeds: readdirSync(join(seeds, 'link_config')).map((f) => join(seeds, 'link_config', f)),
    maxLen: 16384,
  },
};

let runs = Number(process.env.FUZZ_RUNS ?? 200000);
let asan = false;
const chosen = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--runs') runs = Number(argv[++i]);
  else if (argv[i] === '--asan') asan = true;
  else if (argv[i] in TARGETS) chosen.push(argv[i]);
  else {
    console.error(`unknown argument '${argv[i]}'; targets: ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
}
if (!Number.isInteger(runs) || runs <= 0) {
  console.error('--runs needs a positive integer');
  process.exit(2);
}
const targets = chosen.length ? chosen : Object.keys(TARGETS);

if (capture('cargo', ['+nightly', '--version']) === null) {
  console.error('the nightly toolchain is missing: rustup toolchain install nightly');
  process.exit(1);
}
if (capture('cargo', ['+nightly', 'fuzz', '--version']) === null) {
  log('installing cargo-fuzz');
  run('cargo', ['install', 'cargo-fuzz']);
}

// Sanitizer "none" by default: the core is safe Rust and what we look for is panics,
// hangs and runaway allocation; debug assertions on, so integer overflow is a finding
// too. `--asan` adds AddressSanitizer (for the unsafe code in dependencies; about 3x
// slower, built in its own target directory).
const fuzzFlags = ['-s', asan ? 'address' : 'none', '--debug-assertions'];
const fuzzDir = join(root, 'fuzz');
if (asan) process.env.CARGO_TARGET_DIR = join(fuzzDir, 'target-asan');
log('building the fuzz targets (nightly, release, debug assertions)');
// One target or all of them (cargo fuzz build takes at most one name).
run('cargo', ['+nightly', 'fuzz', 'build', ...fuzzFlags, ...(targets.length === 1 ? targets : [])], { cwd: fuzzDir });

const summary = [];
for (const name of targets) {
  const t = TARGETS[name];
  const corpus = join(fuzzDir, 'corpus', name);
  const artifacts = join(fuzzDir, 'artifacts', name);
  mkdirSync(corpus, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  for (const s of t.seeds) {
    const dest = join(corpus, `seed-${s.split('/').pop()}`);
    if (!existsSync(dest)) copyFileSync(s, dest);
  }
  log(`fuzzing ${name}: ${runs} runs`);
  const started = Date.now();
  const r = spawnSync(
    'cargo',
    [
      '+nightly', 'fuzz', 'run', ...fuzzFlags, name, corpus, '--',
      `-runs=${runs}`, `-max_len=${t.maxLen}`, '-timeout=10', '-rss_limit_mb=2048',
      '-print_final_stats=1', `-artifact_prefix=${artifacts}/`,
    ],
    { cwd: fuzzDir, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'], maxBuffer: 1 << 28 },
  );
  const err = r.stderr ?? '';
  process.stderr.write(err.split('\n').filter((l) => !/^#\d+\s+(NEW|REDUCE|pulse)/.test(l)).join('\n'));
  const execs = Number(err.match(/stat::number_of_executed_units:\s*(\d+)/)?.[1] ?? NaN);
  const cov = err.match(/cov: (\d+) ft: (\d+)/g)?.pop() ?? '';
  const crashed = r.status !== 0;
  summary.push({ name, execs, seconds: (Date.now() - started) / 1000, crashed, cov });
}

console.log('\nfuzz summary:');
for (const s of summary) {
  console.log(
    `  ${s.name.padEnd(12)} ${String(s.execs).padStart(9)} execs  ${s.seconds.toFixed(0).padStart(5)} s  ${s.cov.padEnd(22)} ${s.crashed ? 'FOUND A CRASH (see fuzz/artifacts/' + s.name + '/)' : 'no crash'}`,
  );
}
process.exit(summary.some((s) => s.crashed) ? 1 : 0);

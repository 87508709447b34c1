// Where an attempt's time goes in wasm: runs the page's module in Node's V8 under its
// sampling profiler and prints the inclusive share of the physics' parts, the same rows
// as the native instruction-count table in docs/results.md. The module is the one
// `npm run build` or `npm run bench` compiled (target/wasm32-unknown-unknown/wasm-release),
// bound again here with its `name` section kept (the page's copy drops it), so the
// profile names Rust functions; the code is the page's, byte for byte.
//
//   node scripts/profile-wasm.mjs [TASK] [ATTEMPTS]          (default: stack 3)
//   node scripts/profile-wasm.mjs --time [TASK] [ATTEMPTS]   (attempts/s, no profiler)
// DMGEN_PROFILE_WASM=path/to/dmgen.wasm: another build of the module (an unbound cargo
// output for wasm32-unknown-unknown).
//
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const args = process.argv.slice(2);
const timeOnly = args[0] === '--time';
const [task = 'stack', attempts = '3'] = timeOnly ? args.slice(1) : args;

if (process.env.DMGEN_PROFILE_CHILD) {
  // The profiled process: only the module and the attempts.
  const pkg = process.env.DMGEN_PROFILE_CHILD;
  const core = await import(join(pkg, 'dmgen.js'));
  core.initSync({ module: readFileSync(join(pkg, 'dmgen_bg.wasm')) });
  for (const f of readdirSync(join(root, 'public', 'demos'))) {
    if (f.endsWith('.json')) core.register_builtin_demo(f.slice(0, -5), readFileSync(join(root, 'public', 'demos', f), 'utf8'));
  }
  const gen = new core.Generator(JSON.stringify({ task, episodes: Number(attempts) }), new Uint8Array(0), '', undefined);
  let ok = 0;
  const t = performance.now();
  for (let i = 0; i < Number(attempts); i++) {
    gen.attempt(i);
    if (gen.last_success()) ok++;
  }
  const s = (performance.now() - t) / 1000;
  console.error(`${ok}/${attempts} attempts succeeded in ${s.toFixed(2)} s: ${(Number(attempts) / s).toFixed(2)} attempts/s`);
  process.exit(0);
}

const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
// DMGEN_PROFILE_WASM: another build of the module (e.g. one with other opt-levels).
const raw = process.env.DMGEN_PROFILE_WASM || join(targetDir, 'wasm32-unknown-unknown', 'wasm-release', 'dmgen.wasm');
if (!existsSync(raw)) throw new Error(`${raw} is missing: run npm run build first`);
const pkg = mkdtempSync(join(tmpdir(), 'dmgen-pkg-'));
const bound = spawnSync('wasm-bindgen', ['--target', 'web', '--out-dir', pkg, '--out-name', 'dmgen', raw], { stdio: 'inherit' });
if (bound.status !== 0) throw new Error('wasm-bindgen failed');
process.on('exit', () => rmSync(pkg, { recursive: true, force: true }));
const childEnv = { ...process.env, DMGEN_PROFILE_CHILD: pkg };

if (timeOnly) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), task, attempts], {
    env: childEnv,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  process.exit(r.status ?? 1);
}

const dir = mkdtempSync(join(tmpdir(), 'dmgen-prof-'));
try {
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200', fileURLToPath(import.meta.url), task, attempts], {
    env: childEnv,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error('the profiled run failed');
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Inclusive share: a sample counts for a row once when any frame of its stack matches.
  const rows = [
    ['Generator::attempt (the whole attempt)', /generate::Generator::attempt/],
    ['rapier step (step_inner)', /PhysicsPipeline>::step_inner/],
    ['constraint solver and integration', /build_islands_and_solve_velocity_constraints/],
    ['Multibody::update_mass_matrix', /Multibody::update_mass_matrix/],
    ['multibody joint limits and motors', /JointGenericInternalConstraintBuilder::update|MultibodyJoint::velocity_constraints/],
    ['Multibody::forward_kinematics', /Multibody::forward_kinematics/],
    ['PGS passes (solve_pass)', /solve::solve_pass$/],
    ['contact constraints (build and solve)', /contact_constraint::/],
    ['collision detection (broad and narrow phase)', /PhysicsPipeline>::detect_collisions/],
    ['IK (World::command)', /as dmgen::sim::World>::command/],
    ['allocation (the allocator itself)', /dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc/],
    ['software square roots (libm)', /libm::math::.*sqrt/],
  ];
  const hits = new Array(rows.length).fill(0);
  let total = 0;
  let named = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    const names = [];
    for (let id = prof.samples[i]; id != null; id = parent.get(id)) names.push(byId.get(id).callFrame.functionName.replace(/::h[0-9a-f]{16}$/, ''));
    if (names[0] === '(idle)' || names[0] === '(program)' || names[0] === '(garbage collector)') continue;
    total += dt;
    if (names.some((n) => n.includes('::'))) named += dt;
    rows.forEach(([, re], k) => {
      if (names.some((n) => re.test(n))) hits[k] += dt;
    });
  }
  console.log(`${task}, ${attempts} attempts: ${(total / 1e6).toFixed(2)} s sampled, ${((100 * named) / total).toFixed(1)}% in named Rust frames`);
  console.log('| part | share |\n|---|---|');
  rows.forEach(([label], k) => console.log(`| ${label} | ${((100 * hits[k]) / total).toFixed(1)}% |`));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Idempotent setup shared by `npm start`, `npm run build` and `npm test`.
// Installs only what is missing: the wasm32 Rust target, wasm-bindgen-cli at the
// exact version of the wasm-bindgen crate, the npm packages and, for tests,
// Debian's chromium.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const t0 = Date.now();
export function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  console.log(`[${s}s] ${msg}`);
}

/** Run a command, inheriting stdio; throw on failure. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

/** Run a command and return its trimmed stdout, or null if it fails to run. */
export function capture(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', ...opts });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

export function wasmBindgenVersion() {
  const lock = readFileSync(join(root, 'Cargo.lock'), 'utf8');
  const m = lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!m) throw new Error('Cargo.lock does not pin wasm-bindgen');
  return m[1];
}

export function ensureWasmTarget() {
  const installed = capture('rustup', ['target', 'list', '--installed']) ?? '';
  if (installed.split('\n').includes('wasm32-unknown-unknown')) return;
  log('installing the wasm32-unknown-unknown Rust target');
  run('rustup', ['target', 'add', 'wasm32-unknown-unknown']);
}

export function ensureWasmBindgen() {
  const want = wasmBindgenVersion();
  const have = capture('wasm-bindgen', ['--version']);
  if (have === `wasm-bindgen ${want}`) return;
  log(`installing wasm-bindgen-cli ${want} (a one-time build of a few minutes)`);
  try {
    run('cargo', ['install', 'wasm-bindgen-cli', '--version', want, '--locked', '--force']);
  } catch {
    // The tool's own lock file can name a dependency version the registry no
    // longer serves; the tool itself stays pinned either way.
    log('locked install failed; retrying with fresh dependency resolution');
    run('cargo', ['install', 'wasm-bindgen-cli', '--version', want, '--force']);
  }
}

export function ensureNpm() {
  const lock = readFileSync(join(root, 'package-lock.json'));
  const hash = createHash('sha256').update(lock).digest('hex');
  const stamp = join(root, 'node_modules', '.dmgen-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return;
  log('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund'], {
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
  });
  writeFileSync(stamp, hash);
}

export const chromiumPath = process.env.DMGEN_CHROMIUM || '/usr/bin/chromium';

export function ensureChromium() {
  if (existsSync(chromiumPath)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = isRoot ? [] : ['sudo', '-n'];
  log("installing Debian's chromium for the browser tests");
  const apt = (args) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    run(cmd, rest, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  apt(['update']);
  apt(['install', '-y', '--no-install-recommends', 'chromium']);
  if (!existsSync(chromiumPath)) throw new Error(`chromium is still missing at ${chromiumPath}`);
}

export function setup({ browser = false } = {}) {
  ensureWasmTarget();
  ensureWasmBindgen();
  ensureNpm();
  if (browser) ensureChromium();
}

/** Build the core to wasm (release, +simd128) and generate the JS bindings into web/pkg. */
export function buildWasm() {
  log('building the core for wasm32 (wasm-release profile, simd128)');
  // Source paths in panic locations are rewritten to short machine-independent prefixes:
  // a smaller module whose bytes do not depend on where the sources live.
  const cargoHome = process.env.CARGO_HOME || join(homedir(), '.cargo');
  const registry = join(cargoHome, 'registry', 'src');
  const sources = existsSync(registry) ? readdirSync(registry).map((d) => join(registry, d)) : [];
  const rustflags = [
    '-C', 'target-feature=+simd128',
    // rustc applies the last matching prefix: the most specific ones come last.
    `--remap-path-prefix=${cargoHome}=/cargo`,
    ...sources.map((d) => `--remap-path-prefix=${d}=/crates`),
    `--remap-path-prefix=${root}=/dmgen`,
  ];
  const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
  const wasm = join(targetDir, 'wasm32-unknown-unknown', 'wasm-release', 'dmgen.wasm');
  // Two modules from the same crate: the page's (web/pkg, under the 1 MB budget) and the
  // extras it loads on first use (web/pkg-extras: the LeRobot export, without physics).
  // They share the target directory (and so every dependency build), but cargo rebuilds a
  // cdylib whose features changed since its last build: the extras module, built first,
  // is skipped while it is newer than every source, so an unchanged tree builds nothing.
  const newestSource = newestMtime([join(root, 'crate', 'src'), join(root, 'crate', 'Cargo.toml'), join(root, 'Cargo.lock'), join(root, 'Cargo.toml')]);
  const extrasOut = join(root, 'web', 'pkg-extras', 'dmgen_extras_bg.wasm');
  const extrasFresh = existsSync(extrasOut) && statSync(extrasOut).mtimeMs > newestSource;
  const modules = [
    ...(extrasFresh ? [] : [{ features: ['--features', 'web-extras'], outDir: 'pkg-extras', outName: 'dmgen_extras' }]),
    { features: [], outDir: 'pkg', outName: 'dmgen' },
  ];
  for (const m of modules) {
    run(
      'cargo',
      ['build', '--profile', 'wasm-release', '--lib', '-p', 'dmgen', '--target', 'wasm32-unknown-unknown', '--no-default-features', ...m.features],
      { env: { ...process.env, CARGO_ENCODED_RUSTFLAGS: rustflags.join('\x1f') } },
    );
    run('wasm-bindgen', [
      '--target', 'web',
      '--out-dir', join(root, 'web', m.outDir),
      '--out-name', m.outName,
      '--remove-name-section',
      '--remove-producers-section',
      wasm,
    ]);
  }
}

/** The newest modification time (ms) of the given files and of every file under the given folders. */
function newestMtime(paths) {
  let newest = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) newest = Math.max(newest, newestMtime(readdirSync(p).map((f) => join(p, f))));
    else newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

/** Build the static site into dist/ (relative paths, deployable anywhere). */
export function buildSite() {
  log('building the static site (dist/)');
  run(join(root, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn']);
}

// `npm test`: set up what is missing, then run every check CI runs, failing fast.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSite, buildWasm, chromiumPath, log, root, run, setup } from './setup.mjs';

const bin = (name) => join(root, 'node_modules', '.bin', name);
// The CLI the test build makes (see "rust tests (native)").
const cliPath = join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug', 'dmgen');
const steps = [
  ['setup', () => setup({ browser: true })],
  ['cargo fmt --check', () => run('cargo', ['fmt', '--all', '--', '--check'])],
  ['clippy (native)', () => run('cargo', ['clippy', '--all-targets', '--', '-D', 'warnings'])],
  [
    'clippy (wasm32, page module)',
    () =>
      run('cargo', [
        'clippy', '--lib', '-p', 'dmgen', '--target', 'wasm32-unknown-unknown', '--no-default-features', '--',
        '-D', 'warnings',
      ]),
  ],
  [
    'clippy (wasm32, on-demand extras module)',
    () =>
      run('cargo', [
        'clippy', '--lib', '-p', 'dmgen', '--target', 'wasm32-unknown-unknown', '--no-default-features', '--features',
        'web-extras',
        '--', '-D', 'warnings',
      ]),
  ],
  // Builds the CLI too (target/debug/dmgen, for the CLI's integration tests) and the Python
  // extension (python/, whose dependencies are then the ones maturin reuses): the dataset
  // checks and the browser tests use that binary rather than a release build, which would
  // compile every dependency a second time (12-13 minutes cold here). Dependencies are
  // optimised in this profile, and the datasets' bytes do not depend on the profile.
  ['rust tests (native)', () => run('cargo', ['test', '--all-targets'])],
  [
    'datasets read by h5py',
    () => run('bash', [join(root, 'scripts', 'check-dataset.sh')], { env: { ...process.env, DMGEN_BIN: cliPath } }),
  ],
  [
    'python package (pip install ./python, pytest)',
    () => run('bash', [join(root, 'scripts', 'python-test.sh')], { env: { ...process.env, DMGEN_BIN: cliPath } }),
  ],
  ['wasm build', () => buildWasm()],
  ['typescript (tsc --noEmit)', () => run(bin('tsc'), ['--noEmit', '-p', 'tsconfig.json'])],
  ['site build', () => buildSite()],
  ['page module under its 1 MB budget (gzip -9)', () => checkModuleBudget()],
  [
    'browser tests (playwright, chromium)',
    () =>
      run(bin('playwright'), ['test'], { env: { ...process.env, DMGEN_CHROMIUM: chromiumPath, DMGEN_BIN: cliPath } }),
  ],
];

/** The page's first module, as the site serves it, must stay under 1,000,000 bytes gzipped. */
function checkModuleBudget() {
  const assets = join(root, 'dist', 'assets');
  const file = readdirSync(assets).find((f) => /^dmgen_bg-.*\.wasm$/.test(f));
  if (!file) throw new Error('dist/assets has no dmgen_bg-*.wasm');
  const gz = gzipSync(readFileSync(join(assets, file)), { level: 9 }).length;
  log(`page module: ${gz} bytes gzipped`);
  if (gz >= 1_000_000) throw new Error(`the page module is ${gz} bytes gzipped, over its 1,000,000-byte budget`);
}

const timings = [];
for (const [name, fn] of steps) {
  const t = Date.now();
  log(`== ${name}`);
  try {
    fn();
  } catch (e) {
    console.error(`\nnpm test failed at "${name}": ${e.message}`);
    process.exit(1);
  }
  timings.push([name, (Date.now() - t) / 1000]);
}
console.log('\nstep timings:');
for (const [name, s] of timings) console.log(`  ${s.toFixed(1).padStart(7)} s  ${name}`);
console.log('all checks passed');

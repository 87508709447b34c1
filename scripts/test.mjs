// `npm test`: set up what is missing, then run every check CI runs, failing fast.
import { join } from 'node:path';
import { buildSite, buildWasm, chromiumPath, log, root, run, setup } from './setup.mjs';

const bin = (name) => join(root, 'node_modules', '.bin', name);
const steps = [
  ['setup', () => setup({ browser: true })],
  ['cargo fmt --check', () => run('cargo', ['fmt', '--all', '--', '--check'])],
  ['clippy (native)', () => run('cargo', ['clippy', '--all-targets', '--', '-D', 'warnings'])],
  [
    'clippy (wasm32, page module)',
    () =>
      run('cargo', [
        'clippy', '--lib', '--target', 'wasm32-unknown-unknown', '--no-default-features', '--', '-D', 'warnings',
      ]),
  ],
  [
    'clippy (wasm32, on-demand extras module)',
    () =>
      run('cargo', [
        'clippy', '--lib', '--target', 'wasm32-unknown-unknown', '--no-default-features', '--features', 'web-extras',
        '--', '-D', 'warnings',
      ]),
  ],
  ['rust tests (native)', () => run('cargo', ['test', '--all-targets'])],
  // Also used by the browser tests, which compare the page's dataset with the CLI's.
  ['cli build (release)', () => run('cargo', ['build', '--release', '--bin', 'dmgen'])],
  [
    'datasets read by h5py',
    () =>
      run('bash', [join(root, 'scripts', 'check-dataset.sh')], {
        env: { ...process.env, DMGEN_BIN: join(root, 'target', 'release', 'dmgen') },
      }),
  ],
  ['wasm build', () => buildWasm()],
  ['typescript (tsc --noEmit)', () => run(bin('tsc'), ['--noEmit', '-p', 'tsconfig.json'])],
  ['site build', () => buildSite()],
  [
    'browser tests (playwright, chromium)',
    () => run(bin('playwright'), ['test'], { env: { ...process.env, DMGEN_CHROMIUM: chromiumPath } }),
  ],
];

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

// `npm run bench`: validated episodes per second for the stack task in headless
// Chromium (1 and 2 workers) and natively (the CLI, 1 and 2 threads), the
// wasm/native ratio, the page-ready time and the wasm size (raw and gzipped).
// Prints a table and a final JSON line.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSite, buildWasm, chromiumPath, log, root, run, setup } from './setup.mjs';

const episodes = Number(process.env.DMGEN_BENCH_EPISODES || 20);
const port = Number(process.env.DMGEN_BENCH_PORT || 4391);
const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
const cli = join(targetDir, 'release', 'dmgen');

function native(threads, dir) {
  const out = join(dir, `native_${threads}.hdf5`);
  const t = process.hrtime.bigint();
  const r = spawnSync(
    cli,
    ['generate', '--task', 'stack', '--episodes', String(episodes), '--seed', '0', '--out', out, '--threads', String(threads)],
    { encoding: 'utf8' },
  );
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`dmgen generate failed: ${r.stderr}`);
  return { seconds: s, perSecond: episodes / s };
}

async function browser() {
  const { chromium } = await import('playwright-core');
  const server = spawn(process.execPath, [join(root, 'scripts', 'serve.mjs'), 'dist', String(port)], {
    cwd: root,
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 800));
  const b = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--enable-unsafe-swiftshader'],
  });
  const result = {};
  try {
    for (const workers of [1, 2]) {
      const page = await b.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`http://127.0.0.1:${port}/?workers=${workers}`);
      await page.waitForFunction(() => window.__dmgenStatus?.readyAtMs != null && window.__dmgenStatus.workersReady === window.__dmgenStatus.workersTotal, null, {
        timeout: 120_000,
      });
      if (workers === 1) result.pageReadyMs = await page.evaluate(() => window.__dmgenStatus.readyAtMs);
      const gen = async (n) => {
        await page.getByLabel('Episodes', { exact: true }).fill(String(n));
        await page.getByRole('button', { name: 'Generate' }).click();
        await page.waitForFunction(() => window.__dmgenStatus.generating === false && window.__dmgenStatus.datasetReady, null, {
          timeout: 600_000,
        });
        return page.evaluate(() => window.__dmgenStatus.generationSeconds);
      };
      await gen(2); // warm-up: every worker compiles and runs once
      const s = await gen(episodes);
      result[`workers${workers}`] = { seconds: s, perSecond: episodes / s };
      await page.close();
    }
  } finally {
    await b.close();
    server.kill();
  }
  return result;
}

setup({ browser: true });
if (!process.env.DMGEN_BENCH_NO_BUILD) {
  buildWasm();
  buildSite();
  run('cargo', ['build', '--release', '--bin', 'dmgen']);
}
const assets = join(root, 'dist', 'assets');
const wasmFile = readdirSync(assets).find((f) => f.endsWith('.wasm'));
const wasmBytes = readFileSync(join(assets, wasmFile));
const dir = mkdtempSync(join(tmpdir(), 'dmgen-bench-'));
try {
  log(`native: ${episodes} stack episodes, 1 and 2 threads`);
  const n1 = native(1, dir);
  const n2 = native(2, dir);
  log(`browser: ${episodes} stack episodes, 1 and 2 workers`);
  const w = await browser();
  const report = {
    episodes,
    native_1_thread_eps: +n1.perSecond.toFixed(3),
    native_2_threads_eps: +n2.perSecond.toFixed(3),
    wasm_1_worker_eps: +w.workers1.perSecond.toFixed(3),
    wasm_2_workers_eps: +w.workers2.perSecond.toFixed(3),
    wasm_native_ratio_1: +(n1.perSecond / w.workers1.perSecond).toFixed(3),
    wasm_2_over_1_workers: +(w.workers2.perSecond / w.workers1.perSecond).toFixed(3),
    page_ready_ms: Math.round(w.pageReadyMs),
    wasm_raw_bytes: statSync(join(assets, wasmFile)).size,
    wasm_gzip_bytes: gzipSync(wasmBytes, { level: 9 }).length,
  };
  console.log('\nbenchmark (validated stack episodes per second):');
  for (const [k, v] of Object.entries(report)) console.log(`  ${k.padEnd(24)} ${v}`);
  console.log(JSON.stringify(report));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

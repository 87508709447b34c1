// `node scripts/memory.mjs [EPISODES...]`: the tab's memory while the page generates
// stack episodes (2 workers), in headless Chromium against dist/ (build it first).
// For each run prints, at intervals and at the end: episodes kept, the page's JS heap
// (CDP Performance.getMetrics), the page's wasm linear memory, and the resident memory
// of Chromium's renderer processes (the tab and its workers; Linux /proc). Then the
// growth per episode between the two largest runs and what it predicts for 10,000.
// Runs in a fresh persistent profile; DMGEN_MEMORY_SINK=blob measures the Blob fallback
// instead of the origin-private file. Not part of `npm test` (a 1000-episode run takes
// minutes).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumPath, root } from './setup.mjs';

const runs = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (runs.length === 0) runs.push(200, 1000);
const port = Number(process.env.DMGEN_MEMORY_PORT || 4393);
const MB = 1024 * 1024;

// A flag Chromium ignores, to find this browser's processes among others.
const marker = `--dmgen-memory-probe=${process.pid}`;

/**
 * Resident memory (bytes) of this browser's renderer processes (the tab and its
 * workers) and of all its processes (with the browser process, which holds Blob data).
 */
function chromiumRss() {
  const r = spawnSync('ps', ['-eo', 'pid=,ppid=,rss=,args='], { encoding: 'utf8' });
  const procs = r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [pid, ppid, rss, ...args] = l.trim().split(/\s+/);
      return { pid, ppid, rss: Number(rss), args: args.join(' ') };
    });
  const ours = new Set(procs.filter((p) => p.args.includes(marker)).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs)
      if (!ours.has(p.pid) && ours.has(p.ppid)) {
        ours.add(p.pid);
        grew = true;
      }
  }
  let kb = 0;
  let all = 0;
  for (const p of procs)
    if (ours.has(p.pid)) {
      all += p.rss;
      if (p.args.includes('--type=renderer')) kb += p.rss;
    }
  return { renderers: kb * 1024, all: all * 1024 };
}

const { chromium } = await import('playwright-core');
const server = spawn(process.execPath, [join(root, 'scripts', 'serve.mjs'), 'dist', String(port)], { cwd: root, stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 800));
// A persistent profile, as a person's browser has: an incognito-style context keeps
// the origin-private file system and Blobs in memory instead of on disk.
const profile = mkdtempSync(join(tmpdir(), 'dmgen-memory-profile-'));
const sinkParam = process.env.DMGEN_MEMORY_SINK ? `&sink=${process.env.DMGEN_MEMORY_SINK}` : '';
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: chromiumPath,
  viewport: { width: 1280, height: 800 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--enable-unsafe-swiftshader', marker],
});
const results = [];
try {
  for (const episodes of runs) {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const sample = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
      const s = await page.evaluate(async () => ({
        kept: window.__dmgenStatus.successes,
        wasm: window.__dmgenWasmMemoryBytes(),
        stored: (await navigator.storage.estimate()).usage ?? 0,
      }));
      const rss = chromiumRss();
      return { kept: s.kept, jsHeap: m.JSHeapUsedSize, wasm: s.wasm, rss: rss.renderers, allRss: rss.all, stored: s.stored };
    };
    await page.goto(`http://127.0.0.1:${port}/?workers=2${sinkParam}`);
    await page.waitForFunction(() => window.__dmgenStatus?.workerVersions.length === 2, null, { timeout: 120_000 });
    const before = await sample();
    await page.getByLabel('Episodes', { exact: true }).fill(String(episodes));
    await page.getByRole('button', { name: 'Generate' }).click();
    const t0 = Date.now();
    let last = before;
    let peak = { ...before };
    const log = (label, s) =>
      console.log(
        `${String(episodes).padStart(6)} ${label.padEnd(6)} kept ${String(s.kept).padStart(6)}  js heap ${(s.jsHeap / MB).toFixed(1).padStart(7)} MB  wasm ${(s.wasm / MB).toFixed(1).padStart(7)} MB  renderers rss ${(s.rss / MB).toFixed(1).padStart(7)} MB  all chromium rss ${(s.allRss / MB).toFixed(1).padStart(7)} MB  origin storage ${(s.stored / MB).toFixed(1).padStart(7)} MB`,
      );
    log('start', before);
    for (;;) {
      const done = await page
        .waitForFunction(() => !window.__dmgenStatus.generating && window.__dmgenStatus.datasetReady, null, { timeout: 20_000 })
        .then(() => true)
        .catch(() => false);
      last = await sample();
      peak = Object.fromEntries(Object.keys(last).map((k) => [k, Math.max(peak[k] ?? 0, last[k])]));
      log(done ? 'end' : `${Math.round((Date.now() - t0) / 1000)}s`, last);
      if (done) break;
    }
    log('peak', peak);
    // The dataset the run produced: its size (saved to a scratch file, then removed).
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download dataset' }).click(),
    ]);
    const file = join(tmpdir(), `dmgen-memory-${process.pid}.hdf5`);
    await download.saveAs(file);
    const datasetBytes = statSync(file).size;
    rmSync(file);
    console.log(`${String(episodes).padStart(6)} dataset ${(datasetBytes / MB).toFixed(1)} MB`);
    results.push({ episodes, before, after: last, peak, datasetBytes, seconds: (Date.now() - t0) / 1000 });
    await page.close();
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  server.kill();
}
if (results.length >= 2) {
  const [a, b] = results.slice(-2);
  const per = (k) => (b.after[k] - a.after[k]) / (b.episodes - a.episodes);
  const summary = {};
  for (const k of ['jsHeap', 'wasm', 'rss', 'allRss']) {
    summary[k] = {
      perEpisodeKB: per(k) / 1024,
      at10000MB: (b.after[k] + per(k) * (10_000 - b.episodes)) / MB,
    };
  }
  console.log(JSON.stringify({ runs: results, growth: summary }));
}

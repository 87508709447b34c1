// `node scripts/policy-page.mjs DATA.hdf5 [STEPS=5000] [ALGO=bc_chunk] [EVAL_EPISODES=0] [VALIDATE=10]`:
// train a policy in the page (headless Chromium against dist/, build it first) on a dataset
// file, as a person does with "…or a robomimic HDF5 file", and print one JSON line: training
// seconds, samples/s, the validation rollouts, the training worker's peak wasm memory and the
// file size; with EVAL_EPISODES > 0 also evaluates every checkpoint the run kept (the best
// and the final one; static, 2 workers) and prints episodes/s. Compare with
// `dmgen train --data DATA.hdf5 --steps STEPS` for the wasm/native ratio. Not part of
// `npm test` (training on 200 stack episodes takes minutes).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromiumPath, root } from './setup.mjs';

const [data, steps = '5000', algo = 'bc_chunk', evalEpisodes = '0', validate = '10'] = process.argv.slice(2);
if (!data) {
  console.error('usage: node scripts/policy-page.mjs DATA.hdf5 [STEPS] [ALGO] [EVAL_EPISODES] [VALIDATE]');
  process.exit(2);
}
const port = Number(process.env.DMGEN_POLICY_PORT || 4394);
const { chromium } = await import('playwright-core');
const server = spawn(process.execPath, [join(root, 'scripts', 'serve.mjs'), 'dist', String(port)], { cwd: root, stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 800));
const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader'] });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/?workers=2&task=${process.env.DMGEN_TASK || 'stack'}`);
  await page.waitForFunction(() => (window.__dmgenStatus?.workerVersions.length ?? 0) === 2, null, { timeout: 120_000 });
  await page.locator('#policy-data-file').setInputFiles(resolve(data));
  await page.locator('#policy-algo').selectOption(algo);
  await page.locator('#policy-steps').fill(steps);
  await page.locator('#policy-validate').fill(validate);
  await page.locator('#train').click();
  await page.waitForFunction(() => window.__dmgenStatus.policy.training, null, { timeout: 60_000 });
  await page.waitForFunction(() => !window.__dmgenStatus.policy.training, null, { timeout: 3_600_000, polling: 1000 });
  const error = await page.locator('#train-error').textContent().catch(() => null);
  if (error) throw new Error(error);
  const p = await page.evaluate(() => window.__dmgenStatus.policy);
  const out = {
    data,
    bytes: statSync(data).size,
    algo,
    steps: Number(steps),
    validation: p.validation,
    best_steps: p.bestSteps,
    train_seconds: p.lastTrainSeconds,
    samples_per_s: p.lastTrainSamplesPerSecond,
    worker_wasm_memory_bytes: p.trainMemoryBytes,
    train_loss: p.trainLoss,
  };
  if (Number(evalEpisodes) > 0) {
    out.eval = [];
    await page.locator('#eval-episodes').fill(evalEpisodes);
    const options = await page.locator('#policy-pick option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
    for (const [value, label] of options) {
      if (!value || value === 'all') continue;
      await page.locator('#policy-pick').selectOption(value);
      await page.locator('#evaluate').click();
      await page.waitForFunction(() => window.__dmgenStatus.policy.evaluating, null, { timeout: 60_000 });
      await page.waitForFunction(() => !window.__dmgenStatus.policy.evaluating, null, { timeout: 3_600_000, polling: 1000 });
      const e = await page.evaluate(() => window.__dmgenStatus.policy.lastEval);
      out.eval.push({ label, ...e, episodes_per_s: e ? e.episodes / e.seconds : null });
    }
  }
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
  server.kill();
}

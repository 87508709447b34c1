import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The CLI npm test builds (its test build); DMGEN_BIN overrides.
const cli = process.env.DMGEN_BIN || join(process.env.CARGO_TARGET_DIR || 'target', 'debug', 'dmgen');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('a worker that panics and one that is killed mid-run are replaced; the dataset equals a fault-free run', async ({
  page,
}) => {
  test.setTimeout(420_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // The Blob fallback for the dataset (the other tests use the origin-private file system).
  await page.goto('./?workers=2&sink=blob');
  await page.waitForFunction(() => window.__dmgenStatus?.workerVersions.length === 2, null, { timeout: 60_000 });
  await page.getByLabel('Task', { exact: true }).selectOption('stack');
  await page.getByLabel('Episodes', { exact: true }).fill('30');
  await page.getByLabel('Seed', { exact: true }).fill('3');
  await page.getByRole('button', { name: 'Generate' }).click();

  // A panic inside worker 1's core while the run is under way.
  await page.waitForFunction(() => window.__dmgenStatus!.attempts >= 1, null, { timeout: 120_000 });
  expect(await page.evaluate(() => window.__dmgenPool!()!.injectFault(0, 'panic'))).toBe(true);
  await expect(page.locator('#worker-panic-0')).toContainText('Worker 1 crashed; it was replaced');
  // Kill worker 2 while it is running an attempt.
  await page.waitForFunction(() => window.__dmgenPool!()!.busyCount === 2, null, { timeout: 120_000, polling: 20 });
  expect(await page.evaluate(() => window.__dmgenPool!()!.injectFault(1, 'kill'))).toBe(true);
  await expect(page.locator('#worker-panic-1')).toContainText('Worker 2 crashed; it was replaced');

  await page.waitForFunction(() => window.__dmgenStatus!.datasetReady && !window.__dmgenStatus!.generating, null, {
    timeout: 300_000,
  });
  const s = await page.evaluate(() => window.__dmgenStatus!);
  expect(s.successes).toBe(30);
  expect(s.workerRestarts).toBeGreaterThanOrEqual(1);
  expect(s.panicked).toBe(false);
  expect(s.datasetSink).toBe('blob');
  // Each attempt index appears exactly once in the results list.
  const labels = await page.locator('#results li button').allTextContents();
  const indices = labels.map((t) => Number(/#(\d+)/.exec(t)![1]));
  expect(indices).toEqual(indices.map((_, i) => i));
  await page.waitForFunction(() => window.__dmgenPool!()!.readyCount === 2);

  const dir = mkdtempSync(join(tmpdir(), 'dmgen-faults-'));
  const [dataset] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download dataset' }).click(),
  ]);
  await dataset.saveAs(join(dir, 'page.hdf5'));
  const [config] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Config JSON' }).click(),
  ]);
  await config.saveAs(join(dir, 'config.json'));
  // The fault-free run of the same configuration.
  expect(existsSync(cli), `the CLI must be built first (${cli})`).toBe(true);
  const out = join(dir, 'cli.hdf5');
  const r = spawnSync(cli, ['generate', '--config', join(dir, 'config.json'), '--out', out, '--threads', '2'], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  expect(sha256(readFileSync(join(dir, 'page.hdf5')))).toBe(sha256(readFileSync(out)));
  expect(pageErrors).toEqual([]);
});

import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchErrors } from './errors.ts';

const cli = process.env.DMGEN_BIN || join(process.env.CARGO_TARGET_DIR || 'target', 'debug', 'dmgen');

test('a policy trained in the page on its generated data learns, evaluates in parallel workers, replays, loads in the CLI and shares its settings', async ({
  page,
  context,
}) => {
  test.setTimeout(420_000);
  const errors = watchErrors(page);
  await page.goto('./?workers=2&task=lift');
  await page.waitForFunction(() => (window.__dmgenStatus?.workerVersions.length ?? 0) === 2, null, { timeout: 60_000 });
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeDisabled();
  await page.getByLabel('Episodes', { exact: true }).fill('12');
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.datasetReady && !window.__dmgenStatus!.generating, null, {
    timeout: 240_000,
  });
  await expect(page.getByLabel('Train on')).toHaveValue('dmg');

  // Train: the loss of the last epoch is well below the first one's.
  await page.getByLabel('Epochs').fill('30');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.policy.epoch > 0 || document.getElementById('train-error') !== null, null, {
    timeout: 120_000,
  });
  await expect(page.locator('#train-error')).toHaveCount(0);
  await page.waitForFunction(() => !window.__dmgenStatus!.policy.training, null, { timeout: 240_000 });
  await expect(page.locator('#train-error')).toHaveCount(0);
  const trained = await page.evaluate(() => window.__dmgenStatus!.policy);
  expect(trained.policies).toBe(1);
  expect(trained.epoch).toBe(30);
  const losses = await page.evaluate(() => (window.__dmgenPolicy as unknown as { losses: { train: number[] } }).losses.train);
  expect(losses.length).toBe(30);
  expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
  expect(trained.lastTrainSamplesPerSecond).toBeGreaterThan(500);

  // Training is deterministic in the page too: the same data, settings and seed give the
  // same policy file, byte for byte.
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.policy.policies === 2 && !window.__dmgenStatus!.policy.training, null, {
    timeout: 240_000,
  });
  const same = await page.evaluate(() => {
    const [a, b] = window.__dmgenPolicy!.trained;
    return a!.bytes.length > 1000 && a!.bytes.length === b!.bytes.length && a!.bytes.every((v, i) => v === b!.bytes[i]);
  });
  expect(same).toBe(true);
  await page.getByLabel('Policy', { exact: true }).selectOption({ index: 0 });

  // Evaluate 6 episodes over 2 workers: every index once, a table cell with its interval.
  await page.getByLabel('Evaluation episodes').fill('6');
  await page.getByRole('button', { name: 'Evaluate', exact: true }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.policy.lastEval !== null && !window.__dmgenStatus!.policy.evaluating, null, {
    timeout: 240_000,
  });
  const ev = await page.evaluate(() => window.__dmgenStatus!.policy.lastEval!);
  expect(ev.episodes).toBe(6);
  const labels = await page.locator('#eval-results li button').allTextContents();
  expect(labels.map((l) => Number(/#(\d+)/.exec(l)![1]))).toEqual([0, 1, 2, 3, 4, 5]);
  await expect(page.locator('#eval-table td').first()).toContainText(`${Math.round((100 * ev.successes) / 6)}% [`);

  // A rollout replays in the scene.
  await page.locator('#eval-results li button').nth(2).click();
  await page.waitForFunction(() => window.__dmgenPlayground!.episode_shown());

  // The downloaded policy is the file the CLI evaluates.
  const dir = mkdtempSync(join(tmpdir(), 'dmgen-policy-'));
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download policy' }).click()]);
  const policyFile = join(dir, 'page.safetensors');
  await d.saveAs(policyFile);
  expect(existsSync(cli), `the CLI must be built first (${cli})`).toBe(true);
  const r = spawnSync(cli, ['eval', '--policy', policyFile, '--task', 'lift', '--episodes', '2', '--threads', '1'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { episodes: number; success_rate: number };
  expect(summary.episodes).toBe(2);

  // The settings travel in the share link and come back in a fresh page.
  await page.getByLabel('Algorithm').selectOption('bc_rnn');
  await page.getByLabel('Evaluate under').selectOption('dmg');
  await page.getByRole('button', { name: 'Copy link' }).click();
  const url = await page.evaluate(() => window.__dmgenStatus!.shareLink!);
  expect(url).toContain('&p=');
  const fresh = await context.newPage();
  await fresh.goto(url);
  await fresh.waitForFunction(() => (window.__dmgenStatus?.linksRestored ?? 0) > 0, null, { timeout: 60_000 });
  await expect(fresh.getByLabel('Algorithm')).toHaveValue('bc_rnn');
  await expect(fresh.getByLabel('Evaluate under')).toHaveValue('dmg');
  await expect(fresh.getByLabel('Epochs')).toHaveValue('30');
  await expect(fresh.getByLabel('Evaluation episodes')).toHaveValue('6');
  expect(errors).toEqual([]);
});

test('a file that is not a dataset gets a clear message when training, and the page keeps its state', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('./?workers=1&task=lift');
  await page.waitForFunction(() => (window.__dmgenStatus?.workerVersions.length ?? 0) === 1, null, { timeout: 60_000 });
  await page.getByLabel('…or a robomimic HDF5 file').setInputFiles({ name: 'notes.hdf5', mimeType: 'application/x-hdf5', buffer: Buffer.from('not an hdf5 file at all') });
  await expect(page.getByLabel('Train on')).toHaveValue('file');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  const banner = page.locator('#train-error');
  await expect(banner).toContainText('Training on notes.hdf5 failed', { timeout: 60_000 });
  await expect(banner).toContainText('dataset');
  const s = await page.evaluate(() => window.__dmgenStatus!);
  expect(s.policy.training).toBe(false);
  expect(s.policy.policies).toBe(0);
  expect(s.taskId).toBe('lift');
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeEnabled();
});

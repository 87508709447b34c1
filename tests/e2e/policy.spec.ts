import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchErrors } from './errors.ts';

const cli = process.env.DMGEN_BIN || join(process.env.CARGO_TARGET_DIR || 'target', 'debug', 'dmgen');

test('a policy trained in the page on its generated data learns with a curve, evaluates with its funnel in parallel workers, replays with controls, loads in the CLI and shares its settings; Diffusion Policy trains and evaluates too', async ({
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

  // The path from demo to policy is on the first screen, and its steps lead to the panels.
  await expect(page.locator('#steps')).toBeInViewport();
  await page.locator('#steps a[data-step="policy-panel"]').click();
  await expect(page.locator('#policy-panel h2')).toBeInViewport();
  await expect(page.locator('#step-generate')).toContainText('12 episodes');
  // The default recipe is named in the panel.
  await expect(page.getByLabel('Algorithm')).toHaveValue('bc_chunk');
  await expect(page.locator('#policy-recipe')).toContainText('Default');

  // Train chunked BC for 300 steps with validation rollouts at 4 checkpoints: a learning
  // curve of 100 loss points that falls, and 4 validation points.
  await page.getByLabel('Training steps').fill('300');
  await page.getByLabel(/Validation episodes per checkpoint/).fill('2');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.policy.steps > 0 || document.getElementById('train-error') !== null, null, {
    timeout: 120_000,
  });
  await expect(page.locator('#train-error')).toHaveCount(0);
  await page.waitForFunction(() => !window.__dmgenStatus!.policy.training, null, { timeout: 240_000 });
  await expect(page.locator('#train-error')).toHaveCount(0);
  const trained = await page.evaluate(() => window.__dmgenStatus!.policy);
  expect(trained.steps).toBe(300);
  expect(trained.lossPoints).toBe(100);
  expect(trained.validation.map((v) => v.steps)).toEqual([75, 150, 225, 300]);
  expect(trained.validation.every((v) => v.episodes === 2)).toBe(true);
  const losses = await page.evaluate(() => (window.__dmgenPolicy as unknown as { losses: { train: number[] } }).losses.train);
  expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
  expect(trained.lastTrainSamplesPerSecond).toBeGreaterThan(500);
  const finals = (): Promise<Uint8Array[]> =>
    page.evaluate(() => window.__dmgenPolicy!.trained.filter((p) => !p.label.includes('best checkpoint')).map((p) => p.bytes));

  // Training is deterministic in the page too: the same data, settings and seed give the
  // same policy file, byte for byte.
  const before = (await finals()).length;
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.policy.training, null, { timeout: 60_000 });
  await page.waitForFunction(() => !window.__dmgenStatus!.policy.training, null, { timeout: 240_000 });
  const both = await finals();
  expect(both.length).toBe(before + 1);
  const [a, b] = [both[0]!, both.at(-1)!];
  expect(a.length).toBeGreaterThan(1000);
  expect(a.length === b.length && a.every((v, i) => v === b[i])).toBe(true);
  await page.getByLabel('Policy', { exact: true }).selectOption({ index: 0 });

  // Evaluate 6 episodes over 2 workers: every index once, a table cell with its interval,
  // and the funnel of lift's stages.
  await page.getByLabel('Evaluation episodes').fill('6');
  await page.getByRole('button', { name: 'Evaluate', exact: true }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.policy.lastEval !== null && !window.__dmgenStatus!.policy.evaluating, null, {
    timeout: 240_000,
  });
  const ev = await page.evaluate(() => window.__dmgenStatus!.policy.lastEval!);
  expect(ev.episodes).toBe(6);
  expect(ev.funnel.map((f) => f[0])).toEqual(['grasped cube', 'lifted cube', 'success']);
  expect(ev.funnel.at(-1)![1]).toBe(ev.successes);
  for (let i = 1; i < ev.funnel.length; i++) expect(ev.funnel[i]![1]).toBeLessThanOrEqual(ev.funnel[i - 1]![1]);
  await expect(page.locator('#eval-funnel .stage')).toHaveCount(3);
  const labels = await page.locator('#eval-results li button').allTextContents();
  expect(labels.map((l) => Number(/scene #(\d+)/.exec(l)![1]))).toEqual([0, 1, 2, 3, 4, 5]);
  await expect(page.locator('#eval-table td').first()).toContainText(`${Math.round((100 * ev.successes) / 6)}% [`);
  // The list filters successes and failures.
  await page.getByLabel(/^Rollouts/).selectOption('failure');
  await expect(page.locator('#eval-results li')).toHaveCount(6 - ev.successes);
  await page.getByLabel(/^Rollouts/).selectOption('all');

  // A rollout replays in the scene, captioned, and can be paused and scrubbed.
  await page.locator('#eval-results li button').nth(2).click();
  await page.waitForFunction(() => window.__dmgenPlayground!.episode_shown());
  await expect(page.locator('#episode-bar')).toBeVisible();
  await expect(page.locator('#episode-caption')).toContainText('scene #2');
  await page.locator('#episode-play').click();
  expect(await page.evaluate(() => window.__dmgenPlayground!.episode_playing())).toBe(false);
  await page.locator('#episode-scrub').fill('5');
  expect(await page.evaluate(() => window.__dmgenPlayground!.episode_step())).toBe(5);
  await page.locator('#episode-close').click();
  await expect(page.locator('#episode-bar')).toBeHidden();

  // Diffusion Policy trains in the page too, and evaluates in the workers.
  await page.getByLabel('Algorithm').selectOption('diffusion');
  await page.getByLabel('Training steps').fill('60');
  await page.getByLabel(/Validation episodes per checkpoint/).fill('0');
  const count = await page.evaluate(() => window.__dmgenPolicy!.trained.length);
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await page.waitForFunction((n) => window.__dmgenStatus!.policy.policies === n + 1 && !window.__dmgenStatus!.policy.training, count, {
    timeout: 240_000,
  });
  await expect(page.locator('#train-error')).toHaveCount(0);
  await page.getByLabel('Policy', { exact: true }).selectOption({ index: count });
  await expect(page.getByLabel('Policy', { exact: true }).locator('option:checked')).toContainText('Diffusion Policy');
  await page.getByLabel('Evaluation episodes').fill('2');
  await page.getByRole('button', { name: 'Evaluate', exact: true }).click();
  await page.waitForFunction(
    () => window.__dmgenStatus!.policy.lastEval?.policy.includes('Diffusion') === true && !window.__dmgenStatus!.policy.evaluating,
    null,
    { timeout: 240_000 },
  );
  expect((await page.evaluate(() => window.__dmgenStatus!.policy.lastEval!)).episodes).toBe(2);
  await page.getByLabel('Policy', { exact: true }).selectOption({ index: 0 });

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
  await page.getByLabel('Training steps').fill('30');
  await page.getByLabel('Evaluate under').selectOption('dmg');
  await page.getByRole('button', { name: 'Copy link' }).click();
  const url = await page.evaluate(() => window.__dmgenStatus!.shareLink!);
  expect(url).toContain('&p=');
  const fresh = await context.newPage();
  await fresh.goto(url);
  await fresh.waitForFunction(() => (window.__dmgenStatus?.linksRestored ?? 0) > 0, null, { timeout: 60_000 });
  await expect(fresh.getByLabel('Algorithm')).toHaveValue('bc_rnn');
  await expect(fresh.getByLabel('Evaluate under')).toHaveValue('dmg');
  await expect(fresh.getByLabel('Training steps')).toHaveValue('30');
  await expect(fresh.getByLabel('Evaluation episodes')).toHaveValue('2');
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

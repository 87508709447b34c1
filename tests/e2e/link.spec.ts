import { expect, test, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchErrors } from './errors.ts';

const golden = JSON.parse(readFileSync('tests/fixtures/links.json', 'utf8'));

test('share links: the browser core encodes like the native core and reports bad links', async ({ page }) => {
  await page.goto('./?workers=1');
  await page.waitForFunction(() => window.__dmgenCore !== undefined, null, { timeout: 60_000 });
  const r = await page.evaluate(
    ({ config, link, v1 }) => {
      const core = window.__dmgenCore!;
      const encoded = core.encode_link(config);
      const decoded = core.decode_link(`${location.origin}${location.pathname}${link}`);
      const migrated = core.decode_link(v1);
      let error = '';
      try {
        core.decode_link(link.slice(0, -12));
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      return { encoded, decoded, migrated, error, panicked: core.has_panicked() };
    },
    { config: golden.defaultConfig, link: golden.defaultLink, v1: golden.v1DefaultLink },
  );
  expect(r.encoded).toBe(golden.defaultLink);
  expect(JSON.parse(r.decoded.config).task).toBe('stack');
  expect(r.decoded.demo).toBeNull();
  expect(r.decoded.demoSha256).toBeNull();
  expect(r.decoded.sourceVersion).toBe(2);
  // A link of the previous format migrates to the same configuration.
  expect(r.migrated.sourceVersion).toBe(1);
  expect(r.migrated.config).toBe(r.decoded.config);
  expect(r.error).toContain('cut or altered');
  expect(r.panicked).toBe(false);
});

// The CLI npm test builds (its test build); DMGEN_BIN overrides.
const cli = process.env.DMGEN_BIN || join(process.env.CARGO_TARGET_DIR || 'target', 'debug', 'dmgen');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function ready(page: Page, url: string, workers: number): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(
    (n) =>
      (window.__dmgenStatus?.framesDrawn ?? 0) > 0 &&
      (window.__dmgenStatus?.demoSamples ?? 0) > 0 &&
      window.__dmgenStatus?.workerVersions.length === n,
    workers,
    { timeout: 60_000 },
  );
}

/** Generate with the page's settings and save the dataset; returns its SHA-256. */
async function generateAndDownload(page: Page, file: string): Promise<string> {
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.datasetReady && !window.__dmgenStatus!.generating, null, {
    timeout: 240_000,
  });
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download dataset' }).click(),
  ]);
  await download.saveAs(file);
  return sha256(readFileSync(file));
}

test('Copy link: a fresh page restores the configuration and generates the same dataset as the page and the CLI', async ({
  page,
  browser,
}) => {
  test.setTimeout(600_000);
  const errors = watchErrors(page);
  await ready(page, './?workers=2', 2);
  await page.getByLabel('Task', { exact: true }).selectOption('stack');
  // Move the first timeline boundary left.
  const before = await page.evaluate(() => ({ ...window.__dmgenStatus! }));
  const handle = page.locator('.timeline-handle').first();
  const track = (await page.locator('.timeline-track').boundingBox())!;
  const box = (await handle.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - track.width * 0.05, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((b) => window.__dmgenStatus!.boundaries[0] !== b, before.boundaries[0]);
  const boundaries = await page.evaluate(() => window.__dmgenStatus!.boundaries);
  expect(boundaries[0]).toBeLessThan(before.boundaries[0]!);
  await page.getByLabel('Episodes', { exact: true }).fill('6');
  await page.getByLabel('Seed', { exact: true }).fill('5');
  await page.getByLabel('Dynamics').selectOption('static');
  await page.getByLabel('Basis functions').fill('60');
  await page.getByLabel('Basis functions').dispatchEvent('change');
  // No action noise: with the moved boundary the noisy default keeps too few attempts
  // within the budget for the CLI's check; the noise travels in the link as well.
  await page.locator('#action-noise').fill('0');
  await page.locator('#action-noise').dispatchEvent('change');

  await page.getByRole('button', { name: 'Copy link' }).click();
  const field = page.getByLabel('Link to this configuration');
  await expect(field).toHaveValue(/#v=2&c=[A-Za-z0-9_-]+$/);
  const link = await field.inputValue();
  expect(page.url()).toBe(link);
  await expect(page.locator('#share-note')).toContainText(/copied|copy it/);

  const dir = mkdtempSync(join(tmpdir(), 'dmgen-link-'));
  const original = await generateAndDownload(page, join(dir, 'original.hdf5'));

  // A fresh browser context: nothing shared with the first page but the link.
  const context = await browser.newContext();
  const fresh = await context.newPage();
  const freshErrors = watchErrors(fresh);
  await ready(fresh, link, 2);
  await fresh.waitForFunction(() => window.__dmgenStatus!.linksRestored === 1);
  await expect(fresh.getByLabel('Task', { exact: true })).toHaveValue('stack');
  await expect(fresh.getByLabel('Episodes', { exact: true })).toHaveValue('6');
  await expect(fresh.getByLabel('Seed', { exact: true })).toHaveValue('5');
  await expect(fresh.getByLabel('Dynamics')).toHaveValue('static');
  await expect(fresh.getByLabel('Basis functions')).toHaveValue('60');
  await expect(fresh.locator('#action-noise')).toHaveValue('0');
  expect(await fresh.evaluate(() => window.__dmgenStatus!.boundaries)).toEqual(boundaries);
  // Copying the link again from the restored page gives the same link.
  await fresh.getByRole('button', { name: 'Copy link' }).click();
  await expect(fresh.getByLabel('Link to this configuration')).toHaveValue(link);
  const restored = await generateAndDownload(fresh, join(dir, 'restored.hdf5'));
  expect(restored).toBe(original);

  expect(existsSync(cli), `the CLI must be built first (${cli})`).toBe(true);
  const out = join(dir, 'cli.hdf5');
  const r = spawnSync(cli, ['generate', '--url', link, '--out', out, '--threads', '2'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(sha256(readFileSync(out))).toBe(original);
  await context.close();
  expect(errors).toEqual([]);
  expect(freshErrors).toEqual([]);
});

test('a link to an uploaded demo that is not embedded asks for the file and verifies it', async ({ page }) => {
  test.setTimeout(180_000);
  await ready(page, './?workers=1', 1);
  const fixture = readFileSync('tests/fixtures/stack.json');
  const link = await page.evaluate(
    ({ bytes }) => {
      const core = window.__dmgenCore!;
      const file = new Uint8Array(bytes);
      const config = {
        task: 'stack',
        episodes: 3,
        seed: 9,
        demo: { kind: 'sha256', sha256: core.sha256_hex(file), name: 'stack.json' },
      };
      // Encoded without the file: the link only names it.
      return core.encode_link(JSON.stringify(config), undefined);
    },
    { bytes: [...fixture] },
  );
  expect(link).not.toContain('&d=');
  await page.evaluate((l) => (location.hash = l), link);
  const prompt = page.locator('#link-demo-prompt');
  await expect(prompt).toContainText('stack.json');
  await expect(page.getByLabel('Seed', { exact: true })).toHaveValue('9');

  // The wrong file is refused with a clear message; the prompt stays.
  await page.locator('#demo-file').setInputFiles('tests/fixtures/stack.csv');
  await expect(page.locator('#demo-error')).toContainText('is not the demo file this link was made with');
  await expect(page.locator('#demo-error')).toContainText('does not match');
  expect(await page.evaluate(() => window.__dmgenStatus!.demoName)).toBe('stack (built-in)');
  await expect(prompt).toBeVisible();

  // The right file is accepted and the link's configuration applies.
  await page.locator('#demo-file').setInputFiles('tests/fixtures/stack.json');
  await page.waitForFunction(() => window.__dmgenStatus!.demoName === 'stack.json');
  await page.waitForFunction(() => window.__dmgenStatus!.linksRestored === 1);
  await expect(prompt).toHaveCount(0);
  await expect(page.locator('#demo-error')).toHaveCount(0);
});

test('a corrupted or unknown link shows its message and the page keeps its defaults', async ({ page }) => {
  const errors = watchErrors(page);
  const good = JSON.parse(readFileSync('tests/fixtures/links.json', 'utf8')).defaultLink as string;
  const bad = good.slice(0, -10) + (good.endsWith('A') ? 'B' : 'A') + good.slice(-9);
  await ready(page, `./?workers=1${bad}`, 1);
  await expect(page.locator('#link-error')).toContainText('could not be opened');
  await expect(page.locator('#link-error')).toContainText(/corrupted|cut or altered|not valid/);
  expect(await page.evaluate(() => window.__dmgenStatus!.demoName)).toBe('stack (built-in)');
  await expect(page.getByLabel('Episodes', { exact: true })).toHaveValue('20');

  await page.evaluate(() => (location.hash = 'v=1&c=eNpLAAAA&x=<img src=x onerror=alert(1)>'));
  await expect(page.locator('#link-error')).toContainText(/unknown parameter|contains/);
  expect(await page.locator('#banners img').count()).toBe(0);
  await page.evaluate(() => (location.hash = 'v=9&c=eNpLAAAA'));
  await expect(page.locator('#link-error')).toContainText('newer than this playground');
  await page.evaluate(() => (location.hash = `v=1&c=${'A'.repeat(70_000)}`));
  await expect(page.locator('#link-error')).toContainText('65536');
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled();
  expect(errors).toEqual([]);
});

test('the second demo of a multi-demo HDF5 file: a link names the file and the demo; page and CLI generate the same dataset', async ({
  page,
  browser,
}) => {
  test.setTimeout(600_000);
  expect(existsSync(cli), `the CLI must be built first (${cli})`).toBe(true);
  const dir = mkdtempSync(join(tmpdir(), 'dmgen-link-h5-'));
  // A two-episode lift dataset is a MimicGen-style file with demo_0 and demo_1.
  const two = join(dir, 'two_lifts.hdf5');
  const g = spawnSync(cli, ['generate', '--task', 'lift', '--variant', 'static', '--episodes', '2', '--seed', '3', '--quiet', '--out', two], {
    encoding: 'utf8',
  });
  expect(g.status, g.stderr).toBe(0);
  await ready(page, './?workers=2', 2);
  await page.locator('#demo-file').setInputFiles(two);
  await page.waitForFunction(() => window.__dmgenStatus!.demoName === 'two_lifts.hdf5');
  await page.locator('#hdf5-demo').selectOption('1');
  await page.waitForFunction(() => window.__dmgenStatus!.demoIndex === 1);
  const second = await page.evaluate(() => window.__dmgenStatus!.demoSamples);
  await page.getByLabel('Episodes', { exact: true }).fill('3');
  await page.getByRole('button', { name: 'Copy link' }).click();
  const link = await page.getByLabel('Link to this configuration').inputValue();
  // The file is too large to travel in the link: the link pins it and names demo 1.
  expect(link).not.toContain('&d=');
  const original = await generateAndDownload(page, join(dir, 'original.hdf5'));

  const context = await browser.newContext();
  const fresh = await context.newPage();
  await ready(fresh, link, 2);
  await expect(fresh.locator('#link-demo-prompt')).toContainText('two_lifts.hdf5');
  await fresh.locator('#demo-file').setInputFiles(two);
  await fresh.waitForFunction(() => window.__dmgenStatus!.linksRestored === 1);
  expect(await fresh.evaluate(() => window.__dmgenStatus!.demoIndex)).toBe(1);
  expect(await fresh.evaluate(() => window.__dmgenStatus!.demoSamples)).toBe(second);
  await expect(fresh.locator('#hdf5-demo')).toHaveValue('1');
  expect(await generateAndDownload(fresh, join(dir, 'restored.hdf5'))).toBe(original);
  await context.close();

  const out = join(dir, 'cli.hdf5');
  const r = spawnSync(cli, ['generate', '--url', link, '--demo', two, '--out', out, '--threads', '2'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(sha256(readFileSync(out))).toBe(original);
});

test('belt speed, goal filter and forcing-term scaling travel in the link and come back in a fresh page', async ({ page, browser }) => {
  test.setTimeout(120_000);
  await ready(page, './?workers=1', 1);
  await page.getByLabel('Conveyor belt speed (m/s)').fill('0.08');
  await page.getByLabel('Goal filter gain (0 = jump)').fill('0');
  await page.getByLabel('Goal filter gain (0 = jump)').dispatchEvent('change');
  await page.getByLabel('Forcing-term scaling').selectOption('fixed');
  await page.getByRole('button', { name: 'Copy link' }).click();
  const link = await page.getByLabel('Link to this configuration').inputValue();
  const cfg = await page.evaluate((l) => JSON.parse(window.__dmgenCore!.decode_link(l).config), link);
  expect(cfg.dynamics.belt_speed_mps).toBe(0.08);
  expect(cfg.dmp.goal_filter_alpha).toBe(0);
  expect(cfg.dmp.scaling).toBe('fixed');
  const context = await browser.newContext();
  const fresh = await context.newPage();
  await ready(fresh, link, 1);
  await fresh.waitForFunction(() => window.__dmgenStatus!.linksRestored === 1);
  await expect(fresh.getByLabel('Conveyor belt speed (m/s)')).toHaveValue('0.08');
  await expect(fresh.getByLabel('Goal filter gain (0 = jump)')).toHaveValue('0');
  await expect(fresh.getByLabel('Forcing-term scaling')).toHaveValue('fixed');
  await context.close();
});

test('reset levels: the menu offers the levels a task has, D2 spreads the scene, and the level travels in the link', async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  await ready(page, './?workers=1', 1);
  const level = page.getByLabel('Reset level (MimicGen)');
  await page.getByLabel('Task', { exact: true }).selectOption('lift');
  // Lift has no MimicGen levels beyond its own ranges.
  expect(await level.locator('option:not([disabled])').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['d0']);
  await page.getByLabel('Task', { exact: true }).selectOption('square');
  await level.selectOption('d2');
  await page.waitForFunction(() => window.__dmgenStatus!.resetLevel === 'd2');
  // Square D2 moves the peg over +-0.25 m and turns it up to 90 degrees; D0 keeps it in
  // x 0.45-0.6, y -0.16..-0.08, yaw +-0.3. Over a few scenes the peg leaves D0's box.
  const outside = await page.evaluate(() => {
    let n = 0;
    for (let i = 0; i < 8; i++) {
      (document.getElementById('randomize') as HTMLButtonElement).click();
      const p = window.__dmgenPlayground!.object_poses();
      const [x, y] = [p[7]!, p[8]!];
      if (x < 0.45 || x > 0.6 || y < -0.16 || y > -0.08) n++;
    }
    return n;
  });
  expect(outside).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Copy link' }).click();
  const link = await page.getByLabel('Link to this configuration').inputValue();
  const cfg = await page.evaluate((l) => JSON.parse(window.__dmgenCore!.decode_link(l).config), link);
  expect(cfg.reset).toBe('d2');
  expect(cfg.task).toBe('square');
  // A policy is evaluated in the scenes it was generated for: the level reaches the
  // evaluation settings too (and the core accepts them).
  const evalJson = await page.evaluate(() => (window.__dmgenPolicy as unknown as { evalJson(): string }).evalJson());
  expect(JSON.parse(evalJson)).toMatchObject({ task: 'square', reset: 'd2' });
  await page.evaluate((j) => window.__dmgenCore!.policy_settings_canonical(JSON.stringify({ eval: JSON.parse(j) })), evalJson);
  const context = await browser.newContext();
  const fresh = await context.newPage();
  await ready(fresh, link, 1);
  await fresh.waitForFunction(() => window.__dmgenStatus!.linksRestored === 1);
  await expect(fresh.getByLabel('Reset level (MimicGen)')).toHaveValue('d2');
  await fresh.waitForFunction(() => window.__dmgenStatus!.resetLevel === 'd2' && window.__dmgenStatus!.taskId === 'square');
  await context.close();
  // Back on a task without D2 the menu falls back to D0.
  await page.getByLabel('Task', { exact: true }).selectOption('stack');
  await expect(level).toHaveValue('d0');
});

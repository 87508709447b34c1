import { expect, test, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchErrors } from './errors.ts';

const cli = process.env.DMGEN_BIN || join(process.env.CARGO_TARGET_DIR || 'target', 'debug', 'dmgen');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function ready(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(
    () =>
      (window.__dmgenStatus?.framesDrawn ?? 0) > 0 &&
      (window.__dmgenStatus?.demoSamples ?? 0) > 0 &&
      window.__dmgenStatus?.workerVersions.length === 2,
    null,
    { timeout: 60_000 },
  );
}

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

test('Load task: a task file becomes the scene, travels in the link, and the link generates the same bytes in a fresh page and the CLI', async ({
  page,
  browser,
}) => {
  test.setTimeout(600_000);
  const errors = watchErrors(page);
  await ready(page, './?workers=2');

  // A bad file is refused with the field named; the task stays.
  await page.locator('#task-file').setInputFiles('tests/fixtures/bad_mass.task.json');
  await expect(page.locator('#task-error')).toContainText('objects[0] (cubeA).mass: must be greater than 0');
  await expect(page.getByLabel('Task', { exact: true })).toHaveValue('stack');

  await page.locator('#task-file').setInputFiles('tests/fixtures/stack_wide.task.json');
  await page.waitForFunction(() => window.__dmgenStatus!.taskId === 'stack_wide');
  await expect(page.getByLabel('Task', { exact: true })).toHaveValue('stack_wide');
  await expect(page.locator('#task-error')).toHaveCount(0);
  // Its demo is the file's script, recorded in the page.
  expect(await page.evaluate(() => window.__dmgenStatus!.demoSamples)).toBeGreaterThan(100);

  await page.getByLabel('Episodes', { exact: true }).fill('3');
  await page.getByLabel('Seed', { exact: true }).fill('4');
  await page.getByLabel('Dynamics').selectOption('static');
  await page.locator('#action-noise').fill('0');
  await page.locator('#action-noise').dispatchEvent('change');
  await page.getByRole('button', { name: 'Copy link' }).click();
  const link = await page.getByLabel('Link to this configuration').inputValue();
  expect(link).toMatch(/#v=2&c=/);
  const config = await page.evaluate((l) => JSON.parse(window.__dmgenCore!.decode_link(l).config), link);
  expect(config.task).toBe('stack_wide');
  expect(config.custom_task.min_gap).toBe(0.04);

  const dir = mkdtempSync(join(tmpdir(), 'dmgen-task-'));
  const original = await generateAndDownload(page, join(dir, 'original.hdf5'));

  const context = await browser.newContext();
  const fresh = await context.newPage();
  const freshErrors = watchErrors(fresh);
  await ready(fresh, link);
  await fresh.waitForFunction(() => window.__dmgenStatus!.linksRestored === 1 && window.__dmgenStatus!.taskId === 'stack_wide');
  await expect(fresh.getByLabel('Episodes', { exact: true })).toHaveValue('3');
  const restored = await generateAndDownload(fresh, join(dir, 'restored.hdf5'));
  expect(restored).toBe(original);

  expect(existsSync(cli), `the CLI must be built first (${cli})`).toBe(true);
  const out = join(dir, 'cli.hdf5');
  const r = spawnSync(cli, ['generate', '--url', link, '--out', out, '--threads', '2'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(sha256(readFileSync(out))).toBe(original);

  // Choosing a built-in task again leaves the task file out of the configuration.
  await fresh.getByLabel('Task', { exact: true }).selectOption('stack');
  await fresh.getByRole('button', { name: 'Copy link' }).click();
  const back = await fresh.getByLabel('Link to this configuration').inputValue();
  const backConfig = await fresh.evaluate((l) => JSON.parse(window.__dmgenCore!.decode_link(l).config), back);
  expect(backConfig.task).toBe('stack');
  expect(backConfig.custom_task).toBeUndefined();
  await context.close();
  expect(errors).toEqual([]);
  expect(freshErrors).toEqual([]);
});

test('Edit the task: drag an object, reset around it, change a mass, Apply, and a fresh page opens the link and generates from it', async ({
  page,
  browser,
}) => {
  test.setTimeout(600_000);
  const errors = watchErrors(page);
  await ready(page, './?workers=2');
  await page.getByLabel('Task', { exact: true }).selectOption('stack');
  await page.waitForFunction(() => window.__dmgenStatus!.taskId === 'stack');

  // Drag cube B (object 1) across the table with the mouse.
  const canvas = page.locator('#scene');
  const box = (await canvas.boundingBox())!;
  const hit = await page.evaluate(() => {
    const c = document.getElementById('scene') as HTMLCanvasElement;
    const r = c.getBoundingClientRect();
    const k = c.width / r.width;
    for (let y = 0; y < r.height; y += 4)
      for (let x = 0; x < r.width; x += 4) if (window.__dmgenPlayground!.pick(x * k, y * k) === 1) return [x, y];
    return null;
  });
  expect(hit).not.toBeNull();
  const before = await page.evaluate(() => Array.from(window.__dmgenPlayground!.object_poses()));
  await page.mouse.move(box.x + hit![0]! + 2, box.y + hit![1]! + 2);
  await page.mouse.down();
  await page.mouse.move(box.x + hit![0]! + 2 + 30, box.y + hit![1]! + 2 + 8, { steps: 5 });
  await page.mouse.up();
  const moved = await page.evaluate(() => Array.from(window.__dmgenPlayground!.object_poses()));
  expect(Math.hypot(moved[7]! - before[7]!, moved[8]! - before[8]!)).toBeGreaterThan(0.01);

  await page.locator('#task-editor summary').click();
  await page.getByLabel('Task id').fill('stack_here');
  await page.getByLabel('Object', { exact: true }).selectOption({ label: 'cubeA' });
  await page.getByLabel('Mass (kg)').fill('0.12');
  await page.getByLabel('Mass (kg)').dispatchEvent('change');
  await page.getByLabel(/Reset spread/).fill('2');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.taskId === 'stack_here');
  const task = await page.evaluate(() => JSON.parse(window.__dmgenPlayground!.task_json()));
  expect(task.objects[0].mass).toBe(0.12);
  // Cube B resets within 2 cm of where it was dropped.
  expect(task.reset[1].x[0]).toBeCloseTo(moved[7]! - 0.02, 3);
  expect(task.reset[1].y[1]).toBeCloseTo(moved[8]! + 0.02, 3);

  await page.getByLabel('Episodes', { exact: true }).fill('2');
  await page.getByLabel('Dynamics').selectOption('static');
  await page.locator('#action-noise').fill('0');
  await page.locator('#action-noise').dispatchEvent('change');
  await page.getByRole('button', { name: 'Copy link' }).click();
  const link = await page.getByLabel('Link to this configuration').inputValue();
  expect(link).toMatch(/#v=2&c=/);

  const context = await browser.newContext();
  const fresh = await context.newPage();
  const freshErrors = watchErrors(fresh);
  await ready(fresh, link);
  await fresh.waitForFunction(() => window.__dmgenStatus!.linksRestored === 1 && window.__dmgenStatus!.taskId === 'stack_here');
  const dir = mkdtempSync(join(tmpdir(), 'dmgen-edit-'));
  await generateAndDownload(fresh, join(dir, 'edited.hdf5'));
  const run = await fresh.evaluate(() => ({ successes: window.__dmgenStatus!.successes, config: window.__dmgenStatus!.lastConfig }));
  expect(run.successes).toBeGreaterThanOrEqual(2);
  const generated = JSON.parse(run.config!);
  expect(generated.task).toBe('stack_here');
  expect(generated.custom_task.objects[0].mass).toBe(0.12);
  await context.close();
  expect(errors).toEqual([]);
  expect(freshErrors).toEqual([]);
});

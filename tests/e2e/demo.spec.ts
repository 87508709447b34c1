import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { watchErrors } from './errors.ts';

const artifacts = 'tests/artifacts';

async function ready(page: Page): Promise<void> {
  await page.goto('./?workers=1');
  await page.waitForFunction(() => (window.__dmgenStatus?.framesDrawn ?? 0) > 0 && (window.__dmgenStatus?.demoSamples ?? 0) > 0, null, {
    timeout: 60_000,
  });
}

async function shot(page: Page, selector: string, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.locator(selector).screenshot({ path: `${artifacts}/${name}.png` });
}

test('the page shows the stack task with its built-in demo, timeline and plot', async ({ page }) => {
  const errors = watchErrors(page);
  await ready(page);
  await expect(page.getByLabel('Task', { exact: true })).toHaveValue('stack');
  const bars = page.locator('.timeline-bar');
  expect(await bars.count()).toBeGreaterThanOrEqual(2);
  await expect(bars.first()).toContainText('grasp');
  const s = await page.evaluate(() => window.__dmgenStatus!);
  expect(s.boundaries.length).toBe((await bars.count()) - 1);
  expect(s.plotVersion).toBeGreaterThan(0);
  await shot(page, '.stage', 'panel-scene');
  await shot(page, '#timeline', 'panel-timeline');
  await shot(page, '.plot-host', 'panel-plot');
  await shot(page, '#demo-panel', 'panel-demo');
  expect(s.panicked).toBe(false);
  expect(errors).toEqual([]);
});

for (const file of ['stack.json', 'stack.csv', 'stack_mimicgen.hdf5']) {
  test(`uploading ${file} loads it and shows its timeline`, async ({ page }) => {
    const errors = watchErrors(page);
    await ready(page);
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Upload demo' }).click();
    await (await chooser).setFiles(`tests/fixtures/${file}`);
    await page.waitForFunction((f) => window.__dmgenStatus?.demoName === f, file);
    const s = await page.evaluate(() => window.__dmgenStatus!);
    expect(s.taskId).toBe('stack');
    expect(s.demoSamples).toBeGreaterThan(50);
    expect(s.subtaskObjects).toContain('cubeA');
    expect(await page.locator('.timeline-bar').count()).toBe(s.boundaries.length + 1);
    await expect(page.locator('#demo-info')).toContainText(file);
    expect(errors).toEqual([]);
  });
}

test('a malformed upload shows an error and the previous demo stays', async ({ page }) => {
  await ready(page);
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Upload demo' }).click();
  await (await chooser).setFiles('tests/fixtures/stack.csv');
  await page.waitForFunction(() => window.__dmgenStatus?.demoName === 'stack.csv');
  const before = await page.evaluate(() => ({ ...window.__dmgenStatus! }));

  const chooser2 = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Upload demo' }).click();
  await (await chooser2).setFiles('tests/fixtures/malformed.json');
  const banner = page.locator('#demo-error');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('malformed.json');
  await expect(banner).toContainText('current demo stays loaded');
  mkdirSync(artifacts, { recursive: true });
  await page.locator('#banners').screenshot({ path: `${artifacts}/panel-error-banner.png` });
  const after = await page.evaluate(() => window.__dmgenStatus!);
  expect(after.demoName).toBe('stack.csv');
  expect(after.demoSamples).toBe(before.demoSamples);
  expect(after.boundaries).toEqual(before.boundaries);
  await banner.getByRole('button', { name: 'Dismiss message' }).click();
  await expect(banner).toHaveCount(0);
});

test('dragging a timeline boundary re-segments the demo and changes the DMP plot', async ({ page }) => {
  const errors = watchErrors(page);
  await ready(page);
  const before = await page.evaluate(() => ({ ...window.__dmgenStatus! }));
  const handle = page.locator('.timeline-handle').first();
  const track = (await page.locator('.timeline-track').boundingBox())!;
  const box = (await handle.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - track.width * 0.08, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((v) => window.__dmgenStatus!.plotVersion > v, before.plotVersion);
  const after = await page.evaluate(() => window.__dmgenStatus!);
  expect(after.boundaries[0]).toBeLessThan(before.boundaries[0]!);
  expect(after.plotChecksum).not.toBeCloseTo(before.plotChecksum, 6);

  // Reset to automatic restores the automatic boundaries.
  await page.getByRole('button', { name: 'Reset to automatic' }).click();
  await page.waitForFunction((b) => window.__dmgenStatus!.boundaries[0] === b, before.boundaries[0]);
  expect(errors).toEqual([]);
});

test('changing a subtask reference object goes into the segmentation', async ({ page }) => {
  await ready(page);
  const select = page.getByLabel(/Reference object of grasp/).first();
  await select.selectOption('cubeB');
  await page.waitForFunction(() => window.__dmgenStatus!.subtaskObjects[0] === 'cubeB');
});

test('Randomize shows a seeded scene and objects can be dragged on the table', async ({ page }) => {
  const errors = watchErrors(page);
  await ready(page);
  const pg = 'window.__dmgenPlayground';
  const poses0 = await page.evaluate(() => Array.from(window.__dmgenPlayground!.object_poses()));
  await page.getByRole('button', { name: 'Randomize' }).click();
  await expect(page.locator('#scene-seed')).toHaveText('seed 1');
  const poses1 = await page.evaluate(() => Array.from(window.__dmgenPlayground!.object_poses()));
  expect(poses1).not.toEqual(poses0);
  // Seeded: the same seed gives the same scene.
  const again = await page.evaluate(() => {
    window.__dmgenPlayground!.randomize(1);
    return Array.from(window.__dmgenPlayground!.object_poses());
  });
  expect(again).toEqual(poses1);

  // Find the first object's pixel by scanning for a hit, then drag it.
  const canvas = page.locator('#scene');
  const box = (await canvas.boundingBox())!;
  const hit = await page.evaluate(() => {
    const c = document.getElementById('scene') as HTMLCanvasElement;
    const r = c.getBoundingClientRect();
    const k = c.width / r.width;
    for (let y = 0; y < r.height; y += 4)
      for (let x = 0; x < r.width; x += 4) if (window.__dmgenPlayground!.pick(x * k, y * k) === 0) return [x, y];
    return null;
  });
  expect(hit, `${pg} should find object 0 on screen`).not.toBeNull();
  const [hx, hy] = hit!;
  await page.mouse.move(box.x + hx! + 2, box.y + hy! + 2);
  await page.mouse.down();
  await page.mouse.move(box.x + hx! + 2 + 40, box.y + hy! + 2 + 10, { steps: 5 });
  await page.mouse.up();
  const poses2 = await page.evaluate(() => Array.from(window.__dmgenPlayground!.object_poses()));
  expect(Math.hypot(poses2[0]! - poses1[0]!, poses2[1]! - poses1[1]!)).toBeGreaterThan(0.01);
  expect(poses2[2]).toBeCloseTo(poses1[2]!, 9); // stays on the table
  await shot(page, '#scene-panel', 'panel-scene-editing');
  expect(errors).toEqual([]);
});

test('the demo replays with the scrubber and the help overlay lists shortcuts', async ({ page }) => {
  await ready(page);
  await page.locator('#replay-scrub').fill('100');
  await page.waitForFunction(() => window.__dmgenPlayground!.replay_sample() === 100);
  await page.getByRole('button', { name: 'Play demo' }).click();
  await page.waitForFunction(() => window.__dmgenPlayground!.replay_sample() > 105);
  await page.locator('body').press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toBeVisible();
  await expect(help).toContainText('Generate');
  await shot(page, '#help', 'panel-help');
  await page.locator('body').press('Escape');
  await expect(help).toBeHidden();
});

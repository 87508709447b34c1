import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { watchErrors } from './errors.ts';

// Each bad input gets its own message; the demo loaded before stays loaded and the
// page stays usable (a short generation still works at the end).

test('bad inputs each give their own message and leave the loaded demo and the page usable', async ({ page }) => {
  test.setTimeout(300_000);
  const errors = watchErrors(page);
  await page.goto('./?workers=1');
  await page.waitForFunction(
    () => (window.__dmgenStatus?.demoSamples ?? 0) > 0 && window.__dmgenStatus?.workerVersions.length === 1,
    null,
    { timeout: 60_000 },
  );
  const input = page.locator('#demo-file');
  await input.setInputFiles('tests/fixtures/stack.csv');
  await page.waitForFunction(() => window.__dmgenStatus!.demoName === 'stack.csv');
  const before = await page.evaluate(() => ({ ...window.__dmgenStatus! }));
  const banner = page.locator('#demo-error');

  const expectUnchanged = async (): Promise<void> => {
    const s = await page.evaluate(() => window.__dmgenStatus!);
    expect(s.demoName).toBe('stack.csv');
    expect(s.demoSamples).toBe(before.demoSamples);
    expect(s.boundaries).toEqual(before.boundaries);
    expect(s.panicked).toBe(false);
  };
  const upload = async (name: string, buffer: Buffer, ...expected: (string | RegExp)[]): Promise<void> => {
    await input.setInputFiles({ name, mimeType: 'application/octet-stream', buffer });
    await expect(banner).toContainText(name);
    for (const e of expected) await expect(banner).toContainText(e);
    await expectUnchanged();
    await banner.getByRole('button', { name: 'Dismiss message' }).click();
    await expect(banner).toHaveCount(0);
  };

  const hdf5 = readFileSync('tests/fixtures/stack_mimicgen.hdf5');
  await upload('truncated.hdf5', hdf5.subarray(0, Math.floor(hdf5.length / 2)), 'truncated', 'declares');
  // stack_mimicgen.hdf5 copied by h5py without its datagen_info/gripper_action dataset.
  const missing = readFileSync('tests/fixtures/missing_datasets.hdf5');
  await upload('missing.hdf5', missing, 'HDF5', "dataset 'data/demo_0/datagen_info/gripper_action'", 'not found');
  const json = readFileSync('tests/fixtures/stack.json', 'utf8');
  await upload('nan.json', Buffer.from(json.replace('0.3500528148148148', 'NaN')), 'NaN or Infinity at line 1, column 14');
  const csv = readFileSync('tests/fixtures/stack.csv', 'utf8').split('\n');
  const wrongColumns = [csv[0]!.replace('gripper,', ''), ...csv.slice(1)].join('\n');
  await upload('columns.csv', Buffer.from(wrongColumns), "CSV line 1: column 9 is 'cubeA_x', expected 'gripper'");

  // A 200 MB file is refused from its size, before it is read.
  await page.evaluate(() => {
    const chunk = new Uint8Array(1 << 20);
    const file = new File(Array.from({ length: 200 }, () => chunk), 'huge.json', { type: 'application/json' });
    const dt = new DataTransfer();
    dt.items.add(file);
    const el = document.getElementById('demo-file') as HTMLInputElement;
    el.files = dt.files;
    el.dispatchEvent(new Event('change'));
  });
  await expect(banner).toContainText('huge.json');
  await expect(banner).toContainText('too large');
  await expect(banner).toContainText('209715200 bytes');
  await expectUnchanged();

  // A share link with a corrupted payload.
  const good = JSON.parse(readFileSync('tests/fixtures/links.json', 'utf8')).defaultLink as string;
  const cut = good.slice(0, good.length - 12);
  await page.evaluate((l) => (location.hash = l), cut);
  await expect(page.locator('#link-error')).toContainText('could not be opened');
  await expect(page.locator('#link-error')).toContainText('cut or altered');
  await expectUnchanged();

  // Still usable: generate 2 episodes from the loaded demo.
  await page.getByLabel('Episodes', { exact: true }).fill('2');
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.datasetReady && !window.__dmgenStatus!.generating, null, {
    timeout: 240_000,
  });
  expect(await page.evaluate(() => window.__dmgenStatus!.successes)).toBe(2);
  expect(errors).toEqual([]);
});

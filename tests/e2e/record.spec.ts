import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { watchErrors } from './errors.ts';

const target = (page: Page): Promise<number[]> => page.evaluate(() => Array.from(window.__dmgenPlayground!.record_target()));

test('Record demo: keys drive the gripper over the lift cube, grasp and lift; the recording is segmented into grasp and lift', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const errors = watchErrors(page);
  await page.goto('./?workers=1');
  await page.waitForFunction(() => (window.__dmgenStatus?.framesDrawn ?? 0) > 0 && (window.__dmgenStatus?.demoSamples ?? 0) > 0, null, {
    timeout: 60_000,
  });
  await page.getByLabel('Task', { exact: true }).selectOption('lift');
  await page.waitForFunction(() => window.__dmgenStatus!.taskId === 'lift');
  // The cube square to the table axes, so that a yaw of 0 (mod 90 degrees) faces it.
  await page.evaluate(() => {
    const pg = window.__dmgenPlayground!;
    const p = pg.object_poses();
    pg.move_object(0, p[0]!, p[1]!, 0);
  });

  await page.getByRole('button', { name: 'Record demo' }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.recording);
  await expect(page.getByRole('button', { name: 'Stop recording' })).toBeVisible();

  // Real key events: holding W moves the target along +x (the page's shortcuts stay
  // quiet: 's', 'r', 'd' ... are driving keys now).
  const x0 = (await target(page))[0]!;
  await page.keyboard.down('KeyW');
  await page.waitForFunction((x) => window.__dmgenPlayground!.record_target()[0]! > x + 0.01, x0, { timeout: 30_000 });
  await page.keyboard.up('KeyW');
  expect(await page.evaluate(() => window.__dmgenStatus!.generating)).toBe(false);

  // The precise motions: the same key handling, one control step per schedule entry, so
  // the path does not depend on the machine's frame rate.
  const schedule = (phase: 'approach' | 'lift'): Promise<{ lifted: number; samples: number }> =>
    page.evaluate((phase) => {
      const pg = window.__dmgenPlayground!;
      const rec = window.__dmgenRecorder!;
      const yawOf = (q: number[]): number =>
        Math.atan2(2 * (q[6]! * q[5]! + q[3]! * q[4]!), 1 - 2 * (q[4]! * q[4]! + q[5]! * q[5]!));
      const step = (keys: string[]): void => {
        for (const k of keys) rec.key(k, true);
        rec.steps(1);
        for (const k of keys) rec.key(k, false);
      };
      const driveTo = (goal: number[]): void => {
        for (let i = 0; i < 400; i++) {
          const t = Array.from(pg.record_target());
          const keys: string[] = [];
          const d = goal.map((g, k) => g - t[k]!);
          if (d[0]! > 0.003) keys.push('KeyW');
          if (d[0]! < -0.003) keys.push('KeyS');
          if (d[1]! > 0.003) keys.push('KeyA');
          if (d[1]! < -0.003) keys.push('KeyD');
          if (d[2]! > 0.003) keys.push('KeyR');
          if (d[2]! < -0.003) keys.push('KeyF');
          if (keys.length === 0) return;
          step(keys);
        }
      };
      const cube = Array.from(pg.object_poses()).slice(0, 3);
      if (phase === 'approach') {
        // Turn until the fingers face the cube's sides (yaw 0 modulo 90 degrees).
        for (let i = 0; i < 100; i++) {
          const yaw = yawOf(Array.from(pg.record_target()));
          const off = yaw - (Math.PI / 2) * Math.round(yaw / (Math.PI / 2));
          if (Math.abs(off) < 0.025) break;
          step([off > 0 ? 'KeyE' : 'KeyQ']);
        }
        driveTo([cube[0]!, cube[1]!, cube[2]! + 0.12]);
        driveTo(cube);
        for (let i = 0; i < 5; i++) step([]);
      } else {
        for (let i = 0; i < 15; i++) step([]);
        driveTo([cube[0]!, cube[1]!, cube[2]! + 0.15]);
        for (let i = 0; i < 10; i++) step([]);
      }
      return { lifted: pg.object_poses()[2]! - cube[2]!, samples: pg.record_samples() };
    }, phase);
  const cubeZ = await page.evaluate(() => window.__dmgenPlayground!.object_poses()[2]!);
  await schedule('approach');
  // Space (a real key press) closes the gripper around the cube.
  await page.keyboard.press('Space');
  await page.waitForFunction(() => window.__dmgenStatus!.recordGripperClosed);
  const held = await schedule('lift');
  expect(held.lifted).toBeGreaterThan(0.1);
  expect(await page.evaluate(() => window.__dmgenPlayground!.object_poses()[2]!)).toBeGreaterThan(cubeZ + 0.1);

  await page.getByRole('button', { name: 'Stop recording' }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.demoName === 'recording_lift.json');
  const s = await page.evaluate(() => window.__dmgenStatus!);
  expect(s.recording).toBe(false);
  expect(s.taskId).toBe('lift');
  expect(s.demoSamples).toBeGreaterThanOrEqual(held.samples);
  const bars = page.locator('.timeline-bar');
  await expect(bars).toHaveCount(2);
  await expect(bars.first()).toContainText('grasp cube');
  await expect(bars.nth(1)).toContainText('lift cube');
  expect(s.subtaskObjects.every((o) => o === 'cube')).toBe(true);
  await expect(page.locator('#demo-info')).toContainText('recording_lift.json');

  // The recording downloads in the project's JSON demo format.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download recording' }).click(),
  ]);
  const json = JSON.parse(readFileSync(await download.path(), 'utf8'));
  expect(json.format).toBe('dmgen-demo/1');
  expect(json.eef_pos.length).toBe(s.demoSamples);

  // A recording that never grasps is refused with the core's explanation; the recorded
  // demo stays loaded.
  await page.getByRole('button', { name: 'Record demo' }).click();
  await page.evaluate(() => window.__dmgenRecorder!.steps(30));
  await page.getByRole('button', { name: 'Stop recording' }).click();
  await expect(page.locator('#record-error')).toContainText('never closes the gripper on an object');
  await expect(page.locator('#record-error')).toContainText('Automatic segmentation');
  expect(await page.evaluate(() => window.__dmgenStatus!.demoName)).toBe('recording_lift.json');
  await expect(page.getByRole('button', { name: 'Record demo' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('Record demo: dragging the target handle with the mouse drives the hand, Shift-drag lifts it', async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);
  await page.goto('./?workers=1');
  await page.waitForFunction(() => (window.__dmgenStatus?.framesDrawn ?? 0) > 0 && (window.__dmgenStatus?.demoSamples ?? 0) > 0, null, {
    timeout: 60_000,
  });
  await page.getByRole('button', { name: 'Record demo' }).click();
  await page.waitForFunction(() => window.__dmgenStatus!.recording);
  const canvas = page.locator('#scene');
  /** Where world point p appears, in page (CSS) pixels. */
  const onScreen = (p: number[]): Promise<{ x: number; y: number }> =>
    page.evaluate(([x, y, z]) => {
      const c = document.getElementById('scene') as HTMLCanvasElement;
      const r = c.getBoundingClientRect();
      const [px, py] = Array.from(window.__dmgenPlayground!.screen_point(x!, y!, z!));
      return { x: r.left + (px! * r.width) / c.width, y: r.top + (py! * r.height) / c.height };
    }, p);
  await expect(canvas).toBeVisible();
  const t0 = await target(page);
  const grab = await onScreen(t0);
  // 8 cm to the robot's left (+y) at the same height, in pixels.
  const to = await onScreen([t0[0]!, t0[1]! + 0.08, t0[2]!]);
  await page.mouse.move(grab.x, grab.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 5 });
  // Control steps while the handle is held: the target follows at a bounded speed.
  await page.evaluate(() => window.__dmgenRecorder!.steps(40));
  const t1 = await target(page);
  expect(t1[1]! - t0[1]!).toBeGreaterThan(0.06);
  expect(Math.abs(t1[2]! - t0[2]!)).toBeLessThan(0.01);
  // Shift-drag upwards raises the target; releasing the handle stops the drag.
  await page.keyboard.down('Shift');
  await page.mouse.move(to.x, to.y - 30, { steps: 3 });
  await page.keyboard.up('Shift');
  await page.evaluate(() => window.__dmgenRecorder!.steps(20));
  const t2 = await target(page);
  expect(t2[2]! - t1[2]!).toBeGreaterThan(0.03);
  await page.mouse.up();
  await page.evaluate(() => window.__dmgenRecorder!.steps(10));
  const t3 = await target(page);
  expect(Math.hypot(t3[0]! - t2[0]!, t3[1]! - t2[1]!, t3[2]! - t2[2]!)).toBeLessThan(0.005);
  await page.getByRole('button', { name: 'Stop recording' }).click();
  await expect(page.locator('#record-error')).toContainText('never closes the gripper on an object');
  expect(errors).toEqual([]);
});

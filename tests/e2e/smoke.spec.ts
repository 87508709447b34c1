import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { decodePng, distinctColours } from './png.ts';
import { watchErrors } from './errors.ts';

const artifacts = 'tests/artifacts';
const golden = JSON.parse(readFileSync('tests/fixtures/golden.json', 'utf8'));

async function waitForScene(page: Page): Promise<void> {
  await page.waitForFunction(() => (window.__dmgenStatus?.framesDrawn ?? 0) > 0, null, {
    timeout: 60_000,
  });
}

test('page loads, renders the scene, and every worker answers', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('./?workers=3');
  await waitForScene(page);

  await page.waitForFunction(() => (window.__dmgenStatus?.workerVersions.length ?? 0) === 3, null, {
    timeout: 60_000,
  });
  const status = await page.evaluate(() => window.__dmgenStatus!);
  expect(status.coreReady).toBe(true);
  expect(status.workersReady).toBe(3);
  expect(status.workerVersions).toEqual([status.coreVersion, status.coreVersion, status.coreVersion]);
  await expect(page.locator('#worker-status')).toHaveText('workers: 3/3 ready');

  // The canvas shows a lit 3D scene, not a blank clear colour.
  mkdirSync(artifacts, { recursive: true });
  const shot = await page.locator('#scene').screenshot();
  writeFileSync(`${artifacts}/scene.png`, shot);
  const img = decodePng(shot);
  expect(img.width).toBeGreaterThan(200);
  expect(distinctColours(img)).toBeGreaterThan(40);

  expect(status.panicked).toBe(false);
  expect(errors).toEqual([]);
});

test('the page requests nothing outside its own origin, and its policy refuses to', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('./?workers=2');
  await waitForScene(page);
  await page.waitForFunction(() => window.__dmgenStatus?.workersReady === 2, null, { timeout: 60_000 });
  await page.getByLabel('Task', { exact: true }).selectOption('lift');
  await page.waitForFunction(() => window.__dmgenStatus!.framesDrawn > 1);
  expect(errors).toEqual([]);
  // A script that tries anyway is stopped by the page's Content-Security-Policy before any
  // request leaves: the fetch fails and the browser reports the violation.
  const outcome = await page.evaluate(async () => {
    const violation = new Promise<string>((resolve) =>
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true }),
    );
    const fetched = await fetch('http://198.51.100.1/').then(
      () => 'fetched',
      () => 'refused',
    );
    return { fetched, directive: await violation };
  });
  expect(outcome).toEqual({ fetched: 'refused', directive: 'connect-src' });
  expect(errors.filter((e) => e.startsWith("request outside the page's origin"))).toEqual([]);
});

test('the camera orbits on drag and zooms on the wheel', async ({ page }) => {
  await page.goto('./?workers=1');
  await waitForScene(page);
  const before = await page.evaluate(() => window.__dmgenStatus!.camera);
  const box = (await page.locator('#scene').boundingBox())!;
  // Start in the top-left corner: dragging an object would move it instead of orbiting.
  await page.mouse.move(box.x + 60, box.y + 60);
  await page.mouse.down();
  await page.mouse.move(box.x + 180, box.y + 100, { steps: 6 });
  await page.mouse.up();
  await page.mouse.move(box.x + 60, box.y + 60);
  await page.mouse.wheel(0, 300);
  await page.waitForFunction((b) => {
    const c = window.__dmgenStatus!.camera;
    return c[0] !== b[0] && c[2] !== b[2];
  }, before);
  const after = await page.evaluate(() => window.__dmgenStatus!.camera);
  expect(after[0]).not.toBeCloseTo(before[0]!, 3); // yaw changed
  expect(after[2]).toBeGreaterThan(before[2]!); // zoomed out
});

test('an idle scene stops asking for animation frames and wakes up for a change', async ({ page }) => {
  // Count requestAnimationFrame calls from the page's own scripts.
  await page.addInitScript(() => {
    const raf = window.requestAnimationFrame.bind(window);
    (window as unknown as { __rafCalls: number }).__rafCalls = 0;
    window.requestAnimationFrame = (cb) => {
      (window as unknown as { __rafCalls: number }).__rafCalls++;
      return raf(cb);
    };
  });
  await page.goto('./?workers=1');
  await waitForScene(page);
  const calls = () => page.evaluate(() => (window as unknown as { __rafCalls: number }).__rafCalls);
  // Nothing moves: after the idle threshold (30 frames without a draw, longer on a slow
  // machine) the requests stop; an always-running loop never gets there.
  let quiet = false;
  for (let i = 0; i < 40 && !quiet; i++) {
    const a = await calls();
    await page.waitForTimeout(500);
    quiet = (await calls()) === a;
  }
  expect(quiet).toBe(true);
  const a = await calls();
  await page.waitForTimeout(1000);
  expect((await calls()) - a).toBeLessThan(5);

  // A change made while idle is still drawn (the idle view keeps looking at a low rate).
  const drawn = await page.evaluate(() => window.__dmgenStatus!.framesDrawn);
  await page.getByRole('button', { name: 'Randomize' }).click();
  await page.waitForFunction((d) => window.__dmgenStatus!.framesDrawn > d, drawn, { timeout: 5_000 });

  // Pointer input over the scene brings back a frame per display refresh at once.
  const b = await calls();
  const box = (await page.locator('#scene').boundingBox())!;
  await page.mouse.move(box.x + 60, box.y + 60);
  await page.mouse.move(box.x + 80, box.y + 70);
  // (60 a second here; the poll leaves room for a slow machine.)
  await expect.poll(async () => (await calls()) - b, { timeout: 10_000 }).toBeGreaterThan(5);
});

test('physics in the browser is bit-identical to the native build', async ({ page }) => {
  await page.goto('./?workers=1');
  await page.waitForFunction(() => window.__dmgenStatus?.coreReady === true);
  const g = golden.showcase;
  const digest = await page.evaluate(
    (g) => window.__dmgenCore!.showcase_digest(g.boxes, g.seed, g.steps),
    g,
  );
  expect(digest).toBe(g.digest);
});

test('a panic in the core shows a readable banner instead of freezing', async ({ page }) => {
  await page.goto('./?workers=1');
  await waitForScene(page);
  await page.evaluate(() => {
    try {
      window.__dmgenCore!.debug_panic('test');
    } catch {
      // The panic surfaces as a JS exception after the hook has reported it.
    }
  });
  const banner = page.locator('#panic-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('The simulation core crashed');
  await expect(banner).toContainText('debug panic requested: test');
  expect(await page.evaluate(() => window.__dmgenStatus!.panicked)).toBe(true);
  await expect(page.locator('#core-status')).toHaveText('core: crashed');
  // The page still responds: the banner can be dismissed.
  await banner.getByRole('button', { name: 'Dismiss message' }).click();
  await expect(banner).toHaveCount(0);
});

test('a browser without WebGL2 gets a clear message, not a blank canvas', async ({ page }) => {
  await page.addInitScript(() => {
    const original = HTMLCanvasElement.prototype.getContext;
    const patched = function (this: HTMLCanvasElement, type: string, ...rest: unknown[]) {
      if (type === 'webgl2') return null;
      return (original as (...a: unknown[]) => unknown).call(this, type, ...rest);
    };
    HTMLCanvasElement.prototype.getContext = patched as typeof original;
  });
  await page.goto('./');
  const fatal = page.locator('#fatal');
  await expect(fatal).toBeVisible();
  await expect(fatal).toContainText('WebGL2');
  await expect(page.locator('#scene')).toBeHidden();
});

test('a browser without module workers gets a clear message', async ({ page }) => {
  await page.addInitScript(() => {
    // A Worker that ignores the `type` option, like browsers without module workers.
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(url: string | URL, _options?: WorkerOptions) {
        super(url);
      }
    } as typeof Worker;
  });
  await page.goto('./');
  await expect(page.locator('#fatal')).toContainText('module web workers');
});

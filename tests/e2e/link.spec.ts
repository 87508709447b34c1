import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';

const golden = JSON.parse(readFileSync('tests/fixtures/links.json', 'utf8'));

test('share links: the browser core encodes like the native core and reports bad links', async ({ page }) => {
  await page.goto('./?workers=1');
  await page.waitForFunction(() => window.__dmgenCore !== undefined, null, { timeout: 60_000 });
  const r = await page.evaluate(
    ({ config, link }) => {
      const core = window.__dmgenCore!;
      const encoded = core.encode_link(config);
      const decoded = core.decode_link(`${location.origin}${location.pathname}${link}`);
      let error = '';
      try {
        core.decode_link(link.slice(0, -12));
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      return { encoded, decoded, error, panicked: core.has_panicked() };
    },
    { config: golden.defaultConfig, link: golden.defaultLink },
  );
  expect(r.encoded).toBe(golden.defaultLink);
  expect(JSON.parse(r.decoded.config).task).toBe('stack');
  expect(r.decoded.demo).toBeNull();
  expect(r.decoded.demoSha256).toBeNull();
  expect(r.decoded.sourceVersion).toBe(1);
  expect(r.error).toContain('cut or altered');
  expect(r.panicked).toBe(false);
});

import { test, type Page } from '@playwright/test';

/**
 * Collect console errors, uncaught page errors and any request the page (or its
 * workers) makes outside its own origin, for the whole test.
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  const base = test.info().project.use.baseURL;
  const origin = base ? new URL(base).origin : null;
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('request', (req) => {
    const url = new URL(req.url());
    // data: and blob: URLs never leave the browser.
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'ws:' && url.protocol !== 'wss:') return;
    if (origin && url.origin !== origin) errors.push(`request outside the page's origin: ${req.url()}`);
  });
  return errors;
}

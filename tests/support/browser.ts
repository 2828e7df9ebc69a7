// A real headless browser for the page tests: Debian's chromium, driven by
// puppeteer-core (which downloads nothing). CHROMIUM_PATH overrides the path.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // CI runs as root, where chromium's sandbox cannot start; the pages under test are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    defaultViewport: { width: 1280, height: 800 },
  });
}

/** Fails the test on any error the page's own scripts throw or log. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  return errors;
}

// Waits written as page-side expressions: the tests are compiled without the DOM's types.
const q = (selector: string) => `document.querySelector(${JSON.stringify(selector)})`;

/** Waits until the element's text contains `text`. */
export async function waitForText(page: Page, selector: string, text: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction(`(${q(selector)}?.textContent ?? '').includes(${JSON.stringify(text)})`, { timeout });
}

/** Waits until the element's text is exactly `text`. */
export async function waitForExactText(page: Page, selector: string, text: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction(`${q(selector)}?.textContent === ${JSON.stringify(text)}`, { timeout });
}

/** Waits until `data-<key>` of the element (default body) is `value`. */
export async function waitForData(page: Page, key: string, value: string, selector = 'body', timeout = 30_000): Promise<void> {
  await page.waitForFunction(`${q(selector)}?.dataset[${JSON.stringify(key)}] === ${JSON.stringify(value)}`, { timeout });
}

// SLACK_MODE=local end to end, in a real browser: the local chat page →
// the same request handling as Slack → queue → a real agent container running
// the demo project → the status message updating in place → the result; and
// the dashboard listing the jobs with the agent's own lines in its log tail.
// SAVE_SCREENSHOTS=1 also writes the README's screenshots into docs/.
import { jest } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { startLocalDispatcher, type LocalDispatcher } from '../support/local-dispatcher.js';
import { waitForData, waitForText, watchPageErrors } from '../support/browser.js';

jest.setTimeout(240_000);

const SCREENSHOTS = process.env.SAVE_SCREENSHOTS === '1';

let local: LocalDispatcher;

beforeAll(async () => {
  local = await startLocalDispatcher({
    // A job that runs until it is stopped.
    moreProjects: [
      '  slow:',
      '    repo: file:///opt/switchboard-demo/demo.git',
      '    agent:',
      '      command: ["sh", "-c", "echo waiting to be cancelled; exec sleep 600"]',
      '',
    ].join('\n'),
  });
});
afterAll(async () => {
  await local?.stop();
});

/** Keeps every text each message showed, so a test can see a message change in place without catching it mid-flight. */
async function recordMessageTexts(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    window.sbTexts = {};
    const note = () => {
      for (const m of document.querySelectorAll('.msg[id]')) {
        const t = m.querySelector('.content')?.textContent ?? '';
        const seen = (window.sbTexts[m.id] ??= []);
        if (seen[seen.length - 1] !== t) seen.push(t);
      }
    };
    new MutationObserver(note).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
    note();
  })()`);
}
const textsOf = (page: Page, elementId: string) => page.evaluate(`window.sbTexts[${JSON.stringify(elementId)}] ?? []`) as Promise<string[]>;

/** Sends `text` in the open channel; returns the id of the thread it starts. */
async function say(page: Page, text: string): Promise<string> {
  const before = await page.$$eval('.msg.user', (els) => els.length);
  await page.type('#text', text);
  await page.keyboard.press('Enter');
  await page.waitForFunction(`document.querySelectorAll('.msg.user').length > ${before}`);
  return page.$$eval('.msg.user', (els) => els[els.length - 1]!.id.replace(/^m-/, ''));
}

const jobIdIn = (text: string) => /job\s*(j[0-9a-z]+)/.exec(text)?.[1];

describe('the local chat page', () => {
  let page: Page;
  let errors: string[];
  const jobs: string[] = [];

  beforeAll(async () => {
    page = await local.browser.newPage();
    errors = watchPageErrors(page);
    await page.goto(`${local.base}/`);
    await waitForData(page, 'channel', 'general');
    await waitForData(page, 'live', 'true');
    await recordMessageTexts(page);
  });

  test('fix #1 in demo: the status message appears and updates in place, and the final message shows the summary', async () => {
    const thread = await say(page, 'fix #1 in demo');
    const threadSel = `#t-${thread} .thread`;
    await page.waitForSelector(`${threadSel} .msg.bot`);
    const statusId = await page.$eval(`${threadSel} .msg.bot`, (el) => el.id);
    await waitForText(page, threadSel, 'Fixed the typo in README.md', 120_000);
    await waitForText(page, `#${statusId}`, 'done in');

    const shown = await textsOf(page, statusId);
    expect(shown[0]).toContain('demo #1');
    expect(shown.some((t) => /running · step 2\/3/.test(t))).toBe(true);
    expect(shown.at(-1)).toMatch(/demo #1 — done in/);
    // One status message, updated; then the result below it.
    const bots = await page.$$eval(`${threadSel} .msg.bot`, (els) => els.map((e) => e.textContent ?? ''));
    expect(bots).toHaveLength(2);
    expect(bots[1]).toMatch(/demo #1 is done/);
    // The request itself is marked, as Slack's reactions mark it: taken, then done.
    await waitForData(page, 'mark', '✅', `#m-${thread}`);
    const id = jobIdIn(shown.at(-1) ?? '');
    expect(id).toBeDefined();
    jobs.push(id!);
    if (SCREENSHOTS) {
      mkdirSync('docs', { recursive: true });
      await page.screenshot({ path: 'docs/local-chat.png' });
    }
    expect(errors).toEqual([]);
  });

  test('a second job in another channel: a reply in its thread reaches the agent, and Cancel, confirmed in its dialog, stops it', async () => {
    await page.click('#channel-list a[data-channel="random"]');
    await waitForData(page, 'channel', 'random');
    const thread = await say(page, 'fix #2 in slow');
    const threadSel = `#t-${thread} .thread`;
    await page.waitForSelector(`${threadSel} .msg.bot button[data-action-id="job.cancel"]`);
    const statusId = await page.$eval(`${threadSel} .msg.bot`, (el) => el.id);
    await waitForText(page, `#${statusId}`, 'running', 60_000);
    const id = jobIdIn(await page.$eval(`#${statusId}`, (el) => el.textContent ?? ''));
    expect(id).toBeDefined();

    // Meanwhile the dashboard shows it running, beside the finished first job.
    const dash = await local.browser.newPage();
    try {
      await dash.goto(`${local.base}/dashboard`);
      await dash.waitForSelector(`#running tr[data-job-id="${id}"]`);
      expect(await dash.$eval(`#running tr[data-job-id="${id}"]`, (tr) => tr.textContent ?? '')).toMatch(/slow #2.*#random.*you/);
      await dash.waitForSelector(`#finished tr[data-job-id="${jobs[0]}"]`);
      if (SCREENSHOTS) await dash.screenshot({ path: 'docs/dashboard.png' });
    } finally {
      await dash.close();
    }

    // A reply in the job's thread goes to the agent, acknowledged on the reply.
    await page.click(`#t-${thread} .reply-link`);
    await waitForData(page, 'threadId', thread);
    await page.type('#text', 'also update the changelog');
    await page.keyboard.press('Enter');
    await waitForText(page, `${threadSel} .msg.user`, 'also update the changelog');
    await waitForData(page, 'mark', '📨', `${threadSel} .msg.user`);

    // The dialog asks first; "Keep it running" closes it and nothing happens.
    const cancel = `#${statusId} button[data-action-id="job.cancel"]`;
    await page.click(cancel);
    await page.waitForSelector('#confirm[open]');
    expect(await page.$eval('#confirm-title', (e) => e.textContent)).toBe('Cancel this job?');
    expect(await page.$eval('#confirm-deny', (e) => e.textContent)).toBe('Keep it running');
    await page.click('#confirm-deny');
    await page.waitForSelector('#confirm:not([open])');
    expect(await page.$(cancel)).not.toBeNull();

    await page.click(cancel);
    await page.waitForSelector('#confirm[open]');
    await page.click('#confirm-ok');
    await waitForText(page, `#${statusId}`, 'cancelled', 60_000);
    await waitForText(page, threadSel, 'was cancelled', 60_000);
    // No Cancel button once the job is over.
    await page.waitForFunction(`!document.querySelector(${JSON.stringify(cancel)})`);
    jobs.push(id!);
    expect(errors).toEqual([]);
  });

  test('the dashboard lists both jobs, and a job page tails the lines the agent printed', async () => {
    const dash = await local.browser.newPage();
    const dashErrors = watchPageErrors(dash);
    try {
      await dash.goto(`${local.base}/dashboard`);
      expect(jobs).toHaveLength(2);
      for (const id of jobs) await dash.waitForSelector(`#finished tr[data-job-id="${id}"]`);
      expect(await dash.$eval(`#finished tr[data-job-id="${jobs[1]}"] .state`, (e) => e.textContent)).toBe('cancelled');
      const row = await dash.$eval(`#finished tr[data-job-id="${jobs[0]}"]`, (tr) => tr.textContent ?? '');
      expect(row).toContain('demo #1');
      expect(row).toContain('you');
      expect(row).toContain('462 tokens');

      await dash.goto(`${local.base}/dashboard/jobs/${jobs[0]}`);
      await waitForText(dash, '#log', 'README.md has');
      await waitForText(dash, '#log', 'README.md | 2 +-');
      expect(dashErrors).toEqual([]);
    } finally {
      await dash.close();
    }
  });
});

// Slack as a new user meets it, against the emulator with the real Web API
// client: a refused token names the variable to fix; an unreachable Slack is
// said once (URL and method) and retried until it answers.
import { jest } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/logger.js';
import { SlackConnection, SlackTokenRejectedError } from '../../src/slack/slack-connection.js';
import { SlackEmulator } from '../support/slack-emulator/index.js';
import { freePort } from '../support/free-port.js';

jest.setTimeout(20_000);

/** A logger whose lines a test reads; `seen(n)` resolves once n lines matching `re` were written. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const waiters: { re: RegExp; n: number; resolve: () => void }[] = [];
  const count = (re: RegExp) => lines.filter((l) => re.test(String(l.msg))).length;
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Record<string, unknown>);
      for (const w of [...waiters]) {
        if (count(w.re) < w.n) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      done();
    },
  });
  return {
    logger: createLogger('debug', stream),
    lines,
    count,
    seen: (re: RegExp, n = 1) => new Promise<void>((resolve) => (count(re) >= n ? resolve() : waiters.push({ re, n, resolve }))),
  };
}

let emu: SlackEmulator;
beforeAll(async () => {
  emu = await SlackEmulator.start();
});
afterAll(async () => {
  await emu.close();
});
afterEach(() => emu.setFault(undefined));

test('a refused bot token stops start-up with a fix-it message naming SLACK_BOT_TOKEN', async () => {
  const { logger } = capturedLogger();
  const c = new SlackConnection({ apiUrl: emu.apiUrl, botToken: 'xoxb-your-bot-token', appToken: emu.appToken, logger });
  const err = await c
    .start(() => undefined)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(SlackTokenRejectedError);
  expect((err as SlackTokenRejectedError).variable).toBe('SLACK_BOT_TOKEN');
  expect((err as Error).message).toMatch(
    /Slack rejected SLACK_BOT_TOKEN \(invalid_auth from auth\.test .*\): set SLACK_BOT_TOKEN to the bot token \(xoxb-/,
  );
  c.close();
});

test('a refused app token names SLACK_APP_TOKEN; a revoked one is refused too', async () => {
  const { logger } = capturedLogger();
  const wrongApp = new SlackConnection({ apiUrl: emu.apiUrl, botToken: emu.botToken, appToken: 'xapp-your-app-token', logger });
  await expect(wrongApp.start(() => undefined)).rejects.toMatchObject({ variable: 'SLACK_APP_TOKEN', slackError: 'invalid_auth' });
  emu.setFault({ error: 'token_revoked', methods: ['auth.test'] });
  const revoked = new SlackConnection({ apiUrl: emu.apiUrl, botToken: emu.botToken, logger });
  await expect(revoked.start(() => undefined)).rejects.toMatchObject({ variable: 'SLACK_BOT_TOKEN', slackError: 'token_revoked' });
});

test('an unreachable Slack is logged once with URL and method, retried with back-off, and reported when it answers', async () => {
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}/api/`;
  const log = capturedLogger();
  const fatal: Error[] = [];
  const c = new SlackConnection({
    apiUrl,
    botToken: 'xoxb-test-bot-token',
    appToken: 'xapp-1-test-app-token',
    logger: log.logger,
    backoffMs: 20,
    maxBackoffMs: 80,
  });
  expect(await c.start((e) => fatal.push(e))).toBe(false);
  await log.seen(/still unreachable/, 3);
  const said = log.lines.filter((l) => /unreachable; retrying/.test(String(l.msg)));
  expect(said).toHaveLength(1);
  expect(said[0]).toMatchObject({ level: 'warn', url: `${apiUrl}auth.test`, method: 'auth.test' });
  expect(c.describe()).toMatch(
    /no successful auth\.test yet; unreachable since .* \(auth\.test at http:\/\/127\.0\.0\.1:\d+\/api\/auth\.test: .*\), retrying/,
  );

  // Slack comes up where we were looking.
  const late = await SlackEmulator.start({ port });
  try {
    const identity = await c.whenIdentified();
    expect(identity).toMatchObject({ botId: late.botId, botUserId: late.botUserId });
    await log.seen(/Slack answers again/);
    expect(c.describe()).toMatch(/last successful auth\.test at \d{4}-/);
    expect(c.describe()).not.toMatch(/unreachable/);
    expect(fatal).toEqual([]);
  } finally {
    c.close();
    await late.close();
  }
});

test('500s and 429 storms count as unreachable (retried), never as a refused token', async () => {
  const log = capturedLogger();
  emu.setFault({ status: 500 });
  const c = new SlackConnection({ apiUrl: emu.apiUrl, botToken: emu.botToken, logger: log.logger, backoffMs: 20, maxBackoffMs: 40 });
  expect(await c.start(() => undefined)).toBe(false);
  expect(c.describe()).toMatch(/HTTP 500/);
  emu.setFault({ status: 429, retryAfterSeconds: 1 });
  await log.seen(/still unreachable/, 2);
  emu.setFault(undefined);
  await c.whenIdentified();
  expect(log.count(/unreachable; retrying/)).toBe(1);
  c.close();
});

// The Slack emulator (tests/support/slack-emulator) driven by the real
// @slack/web-api and @slack/bolt clients over real HTTP and WebSocket.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, LogLevel, SocketModeReceiver, type Logger } from '@slack/bolt';
import { ErrorCode, WebClient, WebClientEvent, type WebAPIPlatformError } from '@slack/web-api';
import { WebSocket } from 'ws';
import { METHOD_SPECS, signRequest, SlackEmulator } from '../support/slack-emulator/index.js';

const C = 'C0CHAN01';
const U = 'U0ALICE';

let emu: SlackEmulator;

/** A logger that keeps what it is told, so expected client complaints don't clutter the output. */
function quietLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (...msg: unknown[]) => {
      errors.push(msg.map(String).join(' '));
    },
    setLevel: () => undefined,
    getLevel: () => LogLevel.ERROR,
    setName: () => undefined,
  };
}
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  // Apps first, then the emulator: a Socket Mode client whose server vanishes tries to reconnect.
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function startEmulator(opts: Parameters<typeof SlackEmulator.start>[0] = {}): Promise<SlackEmulator> {
  const e = await SlackEmulator.start(opts);
  cleanups.unshift(() => e.close());
  return e;
}

function client(e: SlackEmulator, token = e.botToken, extra: ConstructorParameters<typeof WebClient>[1] = {}): WebClient {
  return new WebClient(token, { slackApiUrl: e.apiUrl, logger: quietLogger(), retryConfig: { retries: 0 }, ...extra });
}

async function platformError(p: Promise<unknown>): Promise<WebAPIPlatformError> {
  try {
    await p;
  } catch (err) {
    return err as WebAPIPlatformError;
  }
  throw new Error('expected the call to fail');
}

describe('Web API (real WebClient)', () => {
  beforeEach(async () => {
    emu = await startEmulator();
  });

  it('answers auth.test with the bot identity', async () => {
    const r = await client(emu).auth.test();
    expect(r).toMatchObject({ ok: true, user_id: 'U0BOT', bot_id: 'B0BOT', team_id: 'T0TEST', url: 'https://emulated.slack.com/' });
    expect(emu.calls).toEqual([expect.objectContaining({ method: 'auth.test', status: 200, ok: true })]);
  });

  it('checks tokens like Slack', async () => {
    const bad = await platformError(client(emu, 'xoxb-wrong').auth.test());
    expect(bad.code).toBe(ErrorCode.PlatformError);
    expect(bad.data.error).toBe('invalid_auth');
    expect((await platformError(client(emu, '').auth.test())).data.error).toBe('not_authed');
    const appOnChat = await platformError(client(emu, emu.appToken).chat.postMessage({ channel: C, text: 'x' }));
    expect(appOnChat.data.error).toBe('not_allowed_token_type');
    const botOnOpen = await platformError(client(emu).apps.connections.open({}));
    expect(botOnOpen.data.error).toBe('not_allowed_token_type');
    const open = await client(emu, emu.appToken).apps.connections.open({});
    expect(open.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=/);
    const unknown = await platformError(client(emu).apiCall('chat.frobnicate', {}));
    expect(unknown.data.error).toBe('unknown_method');
  });

  it('checks required arguments and channel ids', async () => {
    const web = client(emu);
    // @ts-expect-error channel is required: check the emulator rejects it like Slack does
    const noChannel = await platformError(web.chat.postMessage({ text: 'hi' }));
    expect(noChannel.data.error).toBe('channel_not_found');
    expect(noChannel.data.response_metadata?.messages).toEqual(['[ERROR] missing required field: channel']);
    expect((await platformError(web.chat.postMessage({ channel: C } as never))).data.error).toBe('no_text');
    expect((await platformError(web.chat.postMessage({ channel: '#general', text: 'x' }))).data.error).toBe('channel_not_found');
    expect((await platformError(web.chat.update({ channel: C, ts: '1.000001', text: 'x' }))).data.error).toBe('message_not_found');
    expect((await platformError(web.chat.postMessage({ channel: C, text: 'x'.repeat(40_001) }))).data.error).toBe('msg_too_long');
    expect((await platformError(web.conversations.info({ channel: 'nope' }))).data.error).toBe('channel_not_found');
    expect(emu.messages()).toEqual([]);
    expect(emu.calls.every((c) => c.status === 200 && !c.ok)).toBe(true);
  });

  it('records postMessage and applies chat.update to the recorded message', async () => {
    const web = client(emu);
    const posted = await web.chat.postMessage({
      channel: C,
      text: 'queued',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*queued*' } }],
    });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message).toMatchObject({ bot_id: 'B0BOT', user: 'U0BOT', text: 'queued' });
    const reply = await web.chat.postMessage({ channel: C, text: 'detail', thread_ts: posted.ts as string });
    await web.chat.update({
      channel: C,
      ts: posted.ts as string,
      text: 'running',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*running*' } }],
    });

    const [top, second] = emu.messages({ channel: C });
    expect(top).toMatchObject({ ts: posted.ts, text: 'running', updates: 1, bot_id: 'B0BOT' });
    expect(top?.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: '*running*' } }]);
    expect(top?.history).toEqual([{ text: 'queued', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*queued*' } }] }]);
    expect(second).toMatchObject({ ts: reply.ts, thread_ts: posted.ts, text: 'detail' });
    expect(emu.messages({ thread_ts: posted.ts as string }).map((m) => m.text)).toEqual(['running', 'detail']);
    // Arguments are recorded decoded (the client sent blocks as a JSON string).
    expect(emu.calls.find((c) => c.method === 'chat.update')?.args.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '*running*' } },
    ]);

    const link = await web.chat.getPermalink({ channel: C, message_ts: reply.ts as string });
    expect(link.permalink).toBe(
      `https://emulated.slack.com/archives/${C}/p${(reply.ts as string).replace('.', '')}?thread_ts=${posted.ts}&cid=${C}`,
    );
    const info = await web.conversations.info({ channel: C });
    expect(info.channel).toMatchObject({ id: C, is_channel: true, is_archived: false });
    await web.chat.postEphemeral({ channel: C, user: U, text: 'only you' });
    expect(emu.ephemerals({ user: U })).toEqual([expect.objectContaining({ channel: C, user: U, text: 'only you' })]);
    await web.chat.delete({ channel: C, ts: reply.ts as string });
    expect(emu.messages({ channel: C })).toHaveLength(1);
  });

  it('enforces Block Kit limits with invalid_blocks and an explanation', async () => {
    const web = client(emu);
    const divider = { type: 'divider' };
    const tooMany = await platformError(web.chat.postMessage({ channel: C, text: 'x', blocks: Array.from({ length: 51 }, () => divider) }));
    expect(tooMany.data.error).toBe('invalid_blocks');
    expect(tooMany.data.response_metadata?.messages).toEqual(['[ERROR] must be less than 51 items [json-pointer:/blocks]']);
    await expect(web.chat.postMessage({ channel: C, text: 'x', blocks: Array.from({ length: 50 }, () => divider) })).resolves.toMatchObject(
      { ok: true },
    );

    const cases: Array<[unknown, string]> = [
      [{ type: 'section', text: { type: 'mrkdwn', text: 'a'.repeat(3001) } }, '/blocks/0/text/text'],
      [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }, '/blocks/0/fields'],
      [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }, '/blocks/0/fields/0/text'],
      [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }, '/blocks/0/text/text'],
      [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }, '/blocks/0/elements'],
      [
        {
          type: 'actions',
          elements: Array.from({ length: 26 }, (_, i) => ({ type: 'button', action_id: `a${i}`, text: { type: 'plain_text', text: 'b' } })),
        },
        '/blocks/0/elements',
      ],
      [
        { type: 'actions', elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'b'.repeat(76) } }] },
        '/blocks/0/elements/0/text/text',
      ],
      [
        { type: 'actions', elements: [{ type: 'button', action_id: 'a'.repeat(256), text: { type: 'plain_text', text: 'b' } }] },
        '/blocks/0/elements/0/action_id',
      ],
      [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'a', value: 'v'.repeat(2001), text: { type: 'plain_text', text: 'b' } }],
        },
        '/blocks/0/elements/0/value',
      ],
      [{ type: 'divider', block_id: 'b'.repeat(256) }, '/blocks/0/block_id'],
      [{ type: 'hologram' }, '/blocks/0/type'],
    ];
    for (const [i, [block, pointer]] of cases.entries()) {
      // A channel per case: failed calls count against chat.postMessage's per-channel budget too.
      const err = await platformError(web.chat.postMessage({ channel: `C0BK${i}`, text: 'x', blocks: [block as never] }));
      expect(err.data.error).toBe('invalid_blocks');
      expect(err.data.response_metadata?.messages?.join('\n')).toContain(`[json-pointer:${pointer}]`);
    }
    // Blocks that are not JSON at all (sent by hand: the client always encodes them properly).
    const res = await fetch(`${emu.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${emu.botToken}` },
      body: new URLSearchParams({ channel: C, text: 'x', blocks: '[{"type":' }).toString(),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: false, error: 'invalid_blocks_format' });
    expect(emu.messages()).toHaveLength(1);
  });

  it('accepts JSON bodies with a bearer token, and ignores a token inside JSON', async () => {
    const post = (headers: Record<string, string>, body: object): Promise<unknown> =>
      fetch(`${emu.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    await expect(post({ authorization: `Bearer ${emu.botToken}` }, { channel: C, blocks: [{ type: 'divider' }] })).resolves.toMatchObject({
      ok: true,
    });
    await expect(post({}, { token: emu.botToken, channel: C, text: 'x' })).resolves.toEqual({ ok: false, error: 'not_authed' });
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After, and the real client waits and retries by itself', async () => {
    emu = await startEmulator({ rateLimits: { 'chat.update': 2 }, rateWindowMs: 1000, retryAfterSeconds: 1 });
    const rateLimited: number[] = [];
    const web = client(emu, emu.botToken, { retryConfig: { retries: 3, minTimeout: 50, maxTimeout: 200 } });
    web.on(WebClientEvent.RATE_LIMITED, (seconds: number) => rateLimited.push(seconds));
    const { ts } = await web.chat.postMessage({ channel: C, text: 'v0' });
    for (const text of ['v1', 'v2', 'v3']) await web.chat.update({ channel: C, ts: ts as string, text });

    expect(emu.messages({ channel: C })[0]).toMatchObject({ text: 'v3', updates: 3 });
    const updates = emu.calls.filter((c) => c.method === 'chat.update');
    expect(updates.filter((c) => c.status === 429)).toEqual([expect.objectContaining({ status: 429, ok: false, error: 'ratelimited' })]);
    expect(updates.filter((c) => c.ok)).toHaveLength(3);
    expect(rateLimited).toEqual([1]);
  });

  it('limits chat.postMessage per channel with a small burst', async () => {
    emu = await startEmulator({ retryAfterSeconds: 7 });
    const web = client(emu, emu.botToken, { rejectRateLimitedCalls: true });
    for (let i = 0; i < 5; i += 1) await web.chat.postMessage({ channel: C, text: `burst ${i}` });
    const err = (await platformError(web.chat.postMessage({ channel: C, text: 'one too many' }))) as unknown as {
      code: string;
      retryAfter: number;
    };
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(7);
    // Another channel has its own budget.
    await expect(web.chat.postMessage({ channel: 'C0OTHER', text: 'fine' })).resolves.toMatchObject({ ok: true });
    const raw = await fetch(`${emu.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.botToken}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `channel=${C}&text=again`,
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });
  });
});

describe('rate limits per workspace, and a time scale', () => {
  it('keeps each workspace to its own tier limit, answers Retry-After until a slot frees, and records who called when', async () => {
    emu = await startEmulator({
      rateLimits: { 'chat.update': 2 },
      rateWindowMs: 30_000,
      otherWorkspaces: { 'xoxb-other-workspace': 'T0OTHER' },
    });
    const first = client(emu, emu.botToken, { rejectRateLimitedCalls: true });
    const second = client(emu, 'xoxb-other-workspace', { rejectRateLimitedCalls: true });
    const { ts } = await first.chat.postMessage({ channel: C, text: 'v0' });
    for (const web of [first, second]) {
      for (const text of ['a', 'b']) await web.chat.update({ channel: C, ts: ts as string, text });
    }
    const err = (await platformError(first.chat.update({ channel: C, ts: ts as string, text: 'c' }))) as unknown as {
      code: string;
      retryAfter: number;
    };
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    // The oldest of the two calls frees its slot 30 s after it was made.
    expect(err.retryAfter).toBeGreaterThanOrEqual(29);
    expect(err.retryAfter).toBeLessThanOrEqual(30);
    const updates = emu.calls.filter((c) => c.method === 'chat.update');
    expect(updates.map((c) => [c.team, c.status])).toEqual([
      ['T0TEST', 200],
      ['T0TEST', 200],
      ['T0OTHER', 200],
      ['T0OTHER', 200],
      ['T0TEST', 429],
    ]);
    expect(emu.calls.map((c) => c.seq)).toEqual(emu.calls.map((_, i) => i));
    expect(updates.every((c, i) => i === 0 || c.at >= (updates[i - 1] as { at: number }).at)).toBe(true);
  });

  it('runs the limits faster with a time scale: Tier 3 is 50 calls per 60 s / scale', async () => {
    emu = await startEmulator({ timeScale: 60 }); // a 1 s window: long enough for 51 calls even on a busy machine
    const web = client(emu, emu.botToken, { rejectRateLimitedCalls: true });
    const { ts } = await web.chat.postMessage({ channel: C, text: 'v0' });
    const results = await Promise.allSettled(
      Array.from({ length: 51 }, (_, i) => web.chat.update({ channel: C, ts: ts as string, text: `v${i}` })),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    // A window later the budget is back (polled: the emulator's clock, not ours, decides).
    const again = await (async () => {
      for (;;) {
        try {
          return await web.chat.update({ channel: C, ts: ts as string, text: 'later' });
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    expect(again.ok).toBe(true);
  });
});

describe('Socket Mode (real Bolt App)', () => {
  async function socketApp(
    e: SlackEmulator,
    register: (app: App) => void,
    receiverOpts: { clientPingTimeout?: number } = {},
  ): Promise<App> {
    const slackApiUrl = e.apiUrl;
    const app = receiverOpts.clientPingTimeout
      ? new App({
          token: e.botToken,
          socketMode: true,
          clientOptions: { slackApiUrl },
          logLevel: LogLevel.ERROR,
          receiver: new SocketModeReceiver({
            appToken: e.appToken,
            logLevel: LogLevel.ERROR,
            clientPingTimeout: receiverOpts.clientPingTimeout,
            installerOptions: { clientOptions: { slackApiUrl } },
          }),
        })
      : new App({
          token: e.botToken,
          appToken: e.appToken,
          socketMode: true,
          clientOptions: { slackApiUrl },
          installerOptions: { clientOptions: { slackApiUrl } },
          logLevel: LogLevel.ERROR,
        });
    register(app);
    await app.start();
    cleanups.push(() => app.stop());
    return app;
  }

  it('says hello, delivers a message event, and the threaded reply is recorded', async () => {
    emu = await startEmulator();
    const mentions: string[] = [];
    await socketApp(emu, (app) => {
      app.message(/hello/, async ({ message, say }) => {
        const m = message as { ts: string; text?: string };
        await say({ text: `hi back to: ${m.text}`, thread_ts: m.ts });
      });
      app.event('app_mention', async ({ event }) => {
        mentions.push(event.text);
      });
    });
    expect(emu.socketConnections()).toBe(1);

    const { ts, event_id, mention_event_id } = await emu.userSays({ channel: C, user: U, text: `<@${emu.botUserId}> hello there` });
    expect(event_id).toMatch(/^Ev/);
    expect(mention_event_id).toMatch(/^Ev/);
    expect(mention_event_id).not.toBe(event_id);
    const reply = await emu.waitFor(() => emu.messages({ thread_ts: ts }).find((m) => m.bot_id), { what: 'threaded reply' });
    expect(reply).toMatchObject({ channel: C, thread_ts: ts, text: `hi back to: <@U0BOT> hello there`, user: 'U0BOT' });
    expect(emu.messages({ channel: C }).map((m) => m.user)).toEqual([U, 'U0BOT']);
    await emu.waitFor(() => mentions.length === 1, { what: 'app_mention' });
    expect(mentions).toEqual(['<@U0BOT> hello there']);
    expect(emu.deliveries.filter((d) => d.kind === 'events_api').map((d) => d.outcome)).toEqual(['acked', 'acked']);
  });

  it('returns a slash command ack body, and records what is posted to response_url', async () => {
    emu = await startEmulator();
    await socketApp(emu, (app) => {
      app.command('/switchboard', async ({ command, ack, respond }) => {
        await ack({ response_type: 'ephemeral', text: `starting ${command.text} for <@${command.user_id}>` });
        await respond({ response_type: 'in_channel', text: 'started' });
      });
    });
    const { ackBody } = await emu.slashCommand({ channel: C, user: U, text: 'fix #12' });
    expect(ackBody).toEqual({ response_type: 'ephemeral', text: `starting fix #12 for <@${U}>` });
    const [resp] = await emu.waitFor(() => emu.responses().length > 0 && emu.responses(), { what: 'response_url post' });
    expect(resp?.body).toMatchObject({ response_type: 'in_channel', text: 'started' });
  });

  it('delivers block_actions with the clicked message', async () => {
    emu = await startEmulator();
    const seen: Array<{ value?: string; block?: string; channel?: string; text?: string }> = [];
    await socketApp(emu, (app) => {
      app.action('approve', async ({ ack, body, action, respond }) => {
        await ack();
        const b = body as { channel?: { id: string }; message?: { text?: string } };
        const act = action as { value?: string; block_id?: string };
        seen.push({ value: act.value, block: act.block_id, channel: b.channel?.id, text: b.message?.text });
        await respond({ replace_original: true, text: 'approved' });
      });
    });
    const web = client(emu);
    const { ts } = await web.chat.postMessage({
      channel: C,
      text: 'approve?',
      blocks: [
        {
          type: 'actions',
          block_id: 'q',
          elements: [{ type: 'button', action_id: 'approve', value: 'q1', text: { type: 'plain_text', text: 'Approve' } }],
        },
      ],
    });
    // value and block_id are taken from the recorded message's button when not given.
    const { ackBody } = await emu.blockAction({ channel: C, user: U, message_ts: ts as string, action_id: 'approve' });
    expect(ackBody).toBeUndefined();
    await emu.waitFor(() => emu.responses().length === 1, { what: 'response_url post' });
    expect(seen).toEqual([{ value: 'q1', block: 'q', channel: C, text: 'approve?' }]);
    expect(emu.responses()[0]?.body).toEqual({ replace_original: true, text: 'approved' });
  });

  it('reconnects after a refresh_requested disconnect and events keep flowing', async () => {
    emu = await startEmulator();
    const texts: string[] = [];
    await socketApp(
      emu,
      (app) => {
        app.message(async ({ message }) => {
          texts.push((message as { text?: string }).text ?? '');
        });
      },
      { clientPingTimeout: 600 },
    );
    await emu.userSays({ channel: C, user: U, text: 'before' });
    const opensBefore = emu.calls.filter((c) => c.method === 'apps.connections.open').length;

    emu.disconnectSockets('refresh_requested');
    expect(emu.socketConnections()).toBe(0);
    await emu.waitFor(() => emu.socketConnections() === 1, { what: 'reconnect', timeoutMs: 10_000 });
    expect(emu.calls.filter((c) => c.method === 'apps.connections.open').length).toBe(opensBefore + 1);

    await emu.userSays({ channel: C, user: U, text: 'after' });
    await emu.waitFor(() => texts.length === 2, { what: 'second message' });
    expect(texts).toEqual(['before', 'after']);
  });

  it('redelivers a slash command whose ack comes too late', async () => {
    emu = await startEmulator({ ackTimeoutMs: 300 });
    let calls = 0;
    let releaseFirst: () => void = () => undefined;
    const firstMayAck = new Promise<void>((r) => {
      releaseFirst = r;
    });
    await socketApp(emu, (app) => {
      app.command('/switchboard', async ({ ack }) => {
        calls += 1;
        if (calls === 1) {
          await firstMayAck; // held back until the emulator has given up on this attempt
          await ack({ text: 'late' });
          return;
        }
        await ack({ text: `attempt ${calls}` });
      });
    });
    const delivered = emu.slashCommand({ channel: C, user: U, text: 'status' });
    await emu.waitFor(() => emu.deliveries.some((d) => d.attempt === 1), { what: 'a redelivery' });
    const { ackBody } = await delivered;
    releaseFirst();
    expect(ackBody).toEqual({ text: 'attempt 2' });
    expect(calls).toBe(2);
    expect(emu.deliveries.map((d) => [d.attempt, d.retry_reason ?? '', d.outcome])).toEqual([
      [0, '', 'timeout'],
      [1, 'timeout', 'acked'],
    ]);
  });
});

describe('Socket Mode protocol (raw ws client)', () => {
  it('sends hello, retries an unacked envelope with retry_attempt/retry_reason, accepts the ack', async () => {
    emu = await startEmulator({ ackTimeoutMs: 200 });
    const { url } = await client(emu, emu.appToken).apps.connections.open({});
    const sock = new WebSocket(url as string);
    cleanups.push(async () => {
      sock.terminate();
    });
    const frames: Array<Record<string, unknown>> = [];
    sock.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
    await emu.waitFor(() => frames.length > 0, { what: 'hello' });
    expect(frames[0]).toEqual({
      type: 'hello',
      num_connections: 1,
      debug_info: expect.objectContaining({ host: expect.any(String) }),
      connection_info: { app_id: 'A0TEST' },
    });

    const said = emu.userSays({ channel: 'D0DM01', user: U, text: 'psst' });
    const retry = await emu.waitFor(() => frames.find((f) => f.retry_attempt === 2), { what: 'second retry' });
    const first = frames[1] as {
      envelope_id: string;
      type: string;
      payload: Record<string, unknown>;
      retry_attempt: number;
      retry_reason: string;
      accepts_response_payload: boolean;
    };
    expect(first).toMatchObject({ type: 'events_api', retry_attempt: 0, retry_reason: '', accepts_response_payload: false });
    expect(first.payload).toMatchObject({
      type: 'event_callback',
      team_id: 'T0TEST',
      api_app_id: 'A0TEST',
      event_id: expect.stringMatching(/^Ev/),
      event_time: expect.any(Number),
      authorizations: [expect.objectContaining({ user_id: 'U0BOT', is_bot: true })],
      event: expect.objectContaining({ type: 'message', channel: 'D0DM01', channel_type: 'im', user: U, text: 'psst', team: 'T0TEST' }),
    });
    expect(retry).toMatchObject({ envelope_id: first.envelope_id, retry_reason: 'timeout', payload: first.payload });
    sock.send(JSON.stringify({ envelope_id: first.envelope_id }));
    await expect(said).resolves.toMatchObject({ event_id: first.payload.event_id });
    expect(frames.filter((f) => f.type === 'events_api')).toHaveLength(3);
  });

  it('gives up after 3 retries and says so', async () => {
    emu = await startEmulator({ ackTimeoutMs: 100 });
    const { url } = await client(emu, emu.appToken).apps.connections.open({});
    const sock = new WebSocket(url as string);
    cleanups.push(async () => {
      sock.terminate();
    });
    await emu.waitFor(() => emu.socketConnections() === 1, { what: 'connection' });
    await expect(emu.userSays({ channel: C, user: U, text: 'into the void' })).rejects.toThrow(/not acknowledged \(3 retries/);
    expect(emu.deliveries.map((d) => d.attempt)).toEqual([0, 1, 2, 3]);
  });

  it('refuses a WebSocket without a valid ticket', async () => {
    emu = await startEmulator();
    const sock = new WebSocket(emu.apiUrl.replace('http', 'ws').replace('/api/', '/link/?ticket=forged'));
    const status = await new Promise<number>((resolve) => {
      sock.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      sock.on('error', () => resolve(-1));
    });
    expect(status).toBe(401);
    expect(emu.socketConnections()).toBe(0);
  });
});

describe('HTTP mode (real Bolt App with the HTTP receiver)', () => {
  async function httpApp(e: SlackEmulator, register: (app: App) => void): Promise<string> {
    const app = new App({
      token: e.botToken,
      signingSecret: e.signingSecret,
      clientOptions: { slackApiUrl: e.apiUrl },
      logLevel: LogLevel.ERROR,
    });
    register(app);
    const server = (await app.start(0)) as Server;
    cleanups.push(() => app.stop());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    e.setRequestUrl(url);
    return url;
  }

  it('delivers signed events, commands and actions to the listeners', async () => {
    emu = await startEmulator();
    const events: string[] = [];
    await httpApp(emu, (app) => {
      app.message(/deploy/, async ({ message, say }) => {
        events.push('message');
        await say({ text: 'on it', thread_ts: (message as { ts: string }).ts });
      });
      app.command('/switchboard', async ({ ack }) => ack({ text: 'http ack' }));
      app.action('stop', async ({ ack }) => {
        events.push('action');
        await ack();
      });
    });
    const { ts } = await emu.userSays({ channel: C, user: U, text: 'deploy please' });
    const reply = await emu.waitFor(() => emu.messages({ thread_ts: ts }).find((m) => m.bot_id), { what: 'reply over HTTP mode' });
    expect(reply.text).toBe('on it');
    await expect(emu.slashCommand({ channel: C, user: U, text: 'x' })).resolves.toMatchObject({ ackBody: { text: 'http ack' } });
    await emu.blockAction({ channel: C, user: U, message_ts: reply.ts, action_id: 'stop' });
    expect(events).toEqual(['message', 'action']);
    expect(emu.deliveries.every((d) => d.transport === 'http' && d.outcome === 'acked' && d.status === 200)).toBe(true);
  });

  it('refuses a wrongly signed request with 401 and answers url_verification', async () => {
    emu = await startEmulator();
    const url = await httpApp(emu, () => undefined);
    const body = JSON.stringify({ type: 'url_verification', token: 't', challenge: 'ch4llenge' });
    const wrong = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signRequest('not-the-secret', body) },
      body,
    });
    expect(wrong.status).toBe(401);
    const stale = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signRequest(emu.signingSecret, body, Math.floor(Date.now() / 1000) - 600) },
      body,
    });
    expect(stale.status).toBe(401);
    const right = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signRequest(emu.signingSecret, body) },
      body,
    });
    expect(right.status).toBe(200);
    await expect(emu.deliverRaw({ type: 'url_verification', token: 't', challenge: 'abc123' })).resolves.toEqual({ challenge: 'abc123' });
  });

  it('retries with X-Slack-Retry-Num / X-Slack-Retry-Reason after an error or a timeout', async () => {
    emu = await startEmulator({ ackTimeoutMs: 300 });
    const seen: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (seen.length === 1) res.writeHead(500).end();
        else if (seen.length === 2)
          return; // never answers: the emulator times out
        else res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    emu.setRequestUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`);

    await emu.userSays({ channel: C, user: U, text: 'retry me' });
    expect(seen.map((s) => [s.headers['x-slack-retry-num'], s.headers['x-slack-retry-reason']])).toEqual([
      [undefined, undefined],
      ['1', 'http_error'],
      ['2', 'http_timeout'],
    ]);
    for (const s of seen) {
      const ts = s.headers['x-slack-request-timestamp'] as string;
      expect(s.headers['x-slack-signature']).toBe(signRequest(emu.signingSecret, s.body, ts)['X-Slack-Signature']);
      expect(JSON.parse(s.body)).toMatchObject({ type: 'event_callback', event: { type: 'message', text: 'retry me' } });
    }
  });
});

describe('method table', () => {
  it("matches the required arguments in Slack's OpenAPI description", () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const spec = JSON.parse(readFileSync(join(here, '../../../shared/slack/slack_web_openapi_v2_without_examples.json'), 'utf8')) as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; required?: boolean }> }>>;
    };
    let checked = 0;
    for (const [method, ms] of Object.entries(METHOD_SPECS)) {
      const ops = spec.paths[`/${method}`];
      if (!ops) continue; // newer than the 2021 description (apps.connections.open)
      const required = Object.values(ops)
        .flatMap((op) => op.parameters ?? [])
        .filter((p) => p.required && p.name !== 'token')
        .map((p) => p.name)
        .sort();
      expect([
        method,
        ms.required
          .filter((r) => r.documented)
          .map((r) => r.name)
          .sort(),
      ]).toEqual([method, required]);
      checked += 1;
    }
    expect(checked).toBe(Object.keys(METHOD_SPECS).length - 1);
  });
});

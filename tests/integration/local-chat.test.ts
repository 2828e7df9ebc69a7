// The local chat page's server side on a real Redis: the store (posts,
// in-place updates, threads), the live feed, and the guards of a page without
// a login — this machine's name only, same-origin JSON only, and only the
// buttons a bot message really has.
import { jest } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/observability/logger.js';
import { startWebServer, type WebServer } from '../../src/web/http.js';
import { LocalChatStore, localChatKeys } from '../../src/local-chat/local-chat-store.js';
import { LocalChatFeed } from '../../src/local-chat/local-chat-feed.js';
import { localChatRoutes, type LocalChatHandler } from '../../src/local-chat/local-chat-routes.js';
import { actions, section, text } from '../../src/domain/message.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

jest.setTimeout(30_000);

const logger = createLogger('silent');
const prefix = uniquePrefix();
const keys = localChatKeys(prefix);
let redis: Redis;
let store: LocalChatStore;
let feed: LocalChatFeed;
let server: WebServer;
let base: string;
const calls: { kind: string; args: Record<string, unknown> }[] = [];

const handler: LocalChatHandler = {
  async message(posted) {
    calls.push({ kind: 'message', args: posted });
  },
  async action(press) {
    calls.push({ kind: 'action', args: press });
  },
};

/** A raw request, so Host, Origin and Sec-Fetch-Site are what the test says (fetch may not set them). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ method, host: url.hostname, port: url.port, path: url.pathname + url.search, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  raw('POST', path, { host: new URL(base).host, 'content-type': 'application/json', ...headers }, JSON.stringify(body));

beforeAll(async () => {
  redis = new Redis(redisUrl());
  store = new LocalChatStore(redis, keys);
  feed = new LocalChatFeed({ redis, keys, store, names: {}, logger, blockMs: 200 });
  const routes = localChatRoutes({
    channels: [
      { id: 'general', name: 'general' },
      { id: 'random', name: 'random' },
    ],
    user: 'you',
    store,
    feed,
    handler,
    names: {},
    logger,
  });
  server = await startWebServer({ port: 0, host: '127.0.0.1', routes, logger });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  feed.close();
  await server.close();
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});
beforeEach(() => {
  calls.length = 0;
});

describe('the store', () => {
  test('posts, threads and in-place updates; a channel lists its messages oldest first', async () => {
    const top = await store.post({ channel: 'general', author: 'user', user: 'you', text: 'fix #1 in demo' });
    const status = await store.post({
      channel: 'general',
      threadId: top.id,
      author: 'bot',
      user: 'switchboard',
      message: { blocks: [section(text('queued'))] },
    });
    expect(await store.update(status.id, { blocks: [section(text('running'))] })).toBe(true);
    expect(await store.update('m999999', { blocks: [] })).toBe(false);
    const listed = await store.channelMessages('general');
    expect(listed.map((m) => m.id).slice(-2)).toEqual([top.id, status.id]);
    expect(listed.at(-1)?.message).toEqual({ blocks: [section(text('running'))] });
    expect(listed.at(-1)?.editedTs).toBeDefined();
    expect(await store.channelMessages('random')).toEqual([]);
    expect(await redis.ttl(keys.message(top.id))).toBeGreaterThan(0);
    expect(await store.get('../etc')).toBeUndefined();
  });
});

describe('what the page may do', () => {
  test('every route answers only requests addressed to this machine', async () => {
    expect((await raw('GET', '/', { host: 'evil.example:3000' })).status).toBe(403);
    expect((await raw('GET', '/local/api/channels', { host: 'evil.example' })).status).toBe(403);
    expect((await postJson('/local/api/messages', { channel: 'general', text: 'help' }, { host: 'evil.example' })).status).toBe(403);
    const page = await raw('GET', '/', { host: 'localhost:3000' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script src="/assets/chat.js"');
    expect(calls).toEqual([]);
  });

  test('posts are same-origin JSON only', async () => {
    const host = new URL(base).host;
    expect(
      (
        await raw(
          'POST',
          '/local/api/messages',
          { host, 'content-type': 'text/plain' },
          JSON.stringify({ channel: 'general', text: 'help' }),
        )
      ).status,
    ).toBe(403);
    expect(
      (await raw('POST', '/local/api/messages', { host, 'content-type': 'application/x-www-form-urlencoded' }, 'channel=general&text=help'))
        .status,
    ).toBe(403);
    expect((await postJson('/local/api/messages', { channel: 'general', text: 'help' }, { origin: 'http://evil.example' })).status).toBe(
      403,
    );
    expect((await postJson('/local/api/messages', { channel: 'general', text: 'help' }, { 'sec-fetch-site': 'cross-site' })).status).toBe(
      403,
    );
    expect(calls).toEqual([]);
    const ok = await postJson(
      '/local/api/messages',
      { channel: 'general', text: 'help' },
      { origin: base, 'sec-fetch-site': 'same-origin' },
    );
    expect(ok.status).toBe(201);
    expect(calls).toEqual([
      { kind: 'message', args: { id: (JSON.parse(ok.text) as { id: string }).id, channel: 'general', user: 'you', text: 'help' } },
    ]);
  });

  test('messages: known channels, 1 to 4000 characters, replies land in the top thread', async () => {
    expect((await postJson('/local/api/messages', { channel: 'nope', text: 'help' })).status).toBe(400);
    expect((await postJson('/local/api/messages', { channel: 'general', text: '   ' })).status).toBe(400);
    expect((await postJson('/local/api/messages', { channel: 'general', text: 'x'.repeat(4001) })).status).toBe(400);
    expect((await postJson('/local/api/messages', 'not an object')).status).toBe(400);
    const top = JSON.parse((await postJson('/local/api/messages', { channel: 'general', text: 'fix #1 in demo' })).text) as { id: string };
    const reply = JSON.parse((await postJson('/local/api/messages', { channel: 'general', text: 'status', threadId: top.id })).text) as {
      id: string;
    };
    // A reply to a reply belongs to the same thread.
    await postJson('/local/api/messages', { channel: 'general', text: 'cancel', threadId: reply.id });
    expect(calls.slice(1).map((c) => c.args.threadId)).toEqual([top.id, top.id]);
    expect((await postJson('/local/api/messages', { channel: 'random', text: 'x', threadId: top.id })).status).toBe(400);
  });

  test('button presses name a button the bot message really has', async () => {
    const cancel = { actionId: 'job.cancel', label: 'Cancel', value: 'j1234567890' };
    const bot = await store.post({
      channel: 'general',
      author: 'bot',
      user: 'switchboard',
      message: { blocks: [section(text('running')), actions(cancel)] },
    });
    const user = await store.post({ channel: 'general', author: 'user', user: 'you', text: 'hi' });
    expect((await postJson('/local/api/actions', { messageId: bot.id, actionId: 'job.cancel', value: 'jOTHERJOB00' })).status).toBe(400);
    expect((await postJson('/local/api/actions', { messageId: bot.id, actionId: 'job.retry', value: cancel.value })).status).toBe(400);
    expect((await postJson('/local/api/actions', { messageId: user.id, actionId: 'job.cancel', value: cancel.value })).status).toBe(400);
    expect(calls).toEqual([]);
    expect((await postJson('/local/api/actions', { messageId: bot.id, actionId: 'job.cancel', value: cancel.value })).status).toBe(204);
    expect(calls).toEqual([
      { kind: 'action', args: { messageId: bot.id, channel: 'general', user: 'you', actionId: 'job.cancel', value: cancel.value } },
    ]);
  });
});

describe('the live feed', () => {
  test('sends every post and update after the cursor, rendered and escaped', async () => {
    const cursor = await store.feedCursor();
    const controller = new AbortController();
    const res = await fetch(`${base}/local/api/feed?after=${cursor}`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const posted = await store.post({ channel: 'general', author: 'user', user: 'you', text: '<img src=x onerror=alert(1)>' });
    let seen = '';
    while (!seen.includes(posted.id)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    const data = JSON.parse(/data: (.*)\n/.exec(seen.slice(seen.indexOf('event: message')))![1]!) as { id: string; html: string };
    expect(data.id).toBe(posted.id);
    expect(data.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(data.html).not.toContain('<img');
  });
});

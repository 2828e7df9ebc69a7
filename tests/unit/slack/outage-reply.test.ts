// The "try again in a minute" middleware with small fakes of Bolt's
// arguments: who is answered while Redis is down, and how.
import { createLogger } from '../../../src/observability/logger.js';
import { outageReply, UNAVAILABLE_TEXT } from '../../../src/slack/outage-reply.js';

const logger = createLogger('silent');

function fakes(body: unknown, extra: Record<string, unknown> = {}) {
  const posted: unknown[] = [];
  const responded: unknown[] = [];
  let acked = 0;
  let passedOn = 0;
  const args = {
    body,
    context: { botUserId: 'U0BOT' },
    client: { chat: { postMessage: async (m: unknown) => void posted.push(m) } },
    next: async () => void passedOn++,
    ...extra,
  };
  return {
    args,
    posted,
    responded,
    withAck: () => Object.assign(args, { ack: async () => void acked++, respond: async (m: unknown) => void responded.push(m) }),
    counts: () => ({ acked, passedOn }),
  };
}

const message = (event: Record<string, unknown>) => ({
  type: 'event_callback',
  event: { type: 'message', channel: 'C0CHAN', ts: '1.1', user: 'U0ALICE', ...event },
});
const run = (down: boolean, args: object) => outageReply({ redisAvailable: () => !down, logger })(args as never);

test('Redis up: the request goes on as usual', async () => {
  const f = fakes(message({ text: 'fix #1 in demo' }));
  await run(false, f.args);
  expect(f.counts().passedOn).toBe(1);
  expect(f.posted).toEqual([]);
});

test('Redis down: a command in a channel is answered in its thread, and not passed on', async () => {
  const f = fakes(message({ text: 'fix #1 in demo', thread_ts: '0.9' }));
  await run(true, f.args);
  expect(f.counts().passedOn).toBe(0);
  expect(f.posted).toEqual([{ channel: 'C0CHAN', thread_ts: '0.9', text: UNAVAILABLE_TEXT }]);
  expect(UNAVAILABLE_TEXT).toMatch(/temporarily unavailable.*try again in a minute/);
});

test('Redis down: chatter not addressed to the bot, bot messages and edits stay unanswered', async () => {
  for (const event of [{ text: 'lunch anyone?' }, { text: 'fix #1', bot_id: 'B0OTHER' }, { text: 'fix #1', subtype: 'message_changed' }]) {
    const f = fakes(message(event));
    await run(true, f.args);
    expect(f.posted).toEqual([]);
  }
});

test('Redis down: a mention is answered once (by app_mention, not also by its message event)', async () => {
  const text = '<@U0BOT> status';
  const asMessage = fakes(message({ text }));
  await run(true, asMessage.args);
  expect(asMessage.posted).toEqual([]);
  const asMention = fakes({ type: 'event_callback', event: { type: 'app_mention', channel: 'C0CHAN', ts: '1.1', user: 'U0ALICE', text } });
  await run(true, asMention.args);
  expect(asMention.posted).toHaveLength(1);
});

test('Redis down: a DM is answered', async () => {
  const f = fakes(message({ text: 'hello there', channel: 'D0DM', channel_type: 'im' }));
  await run(true, f.args);
  expect(f.posted).toEqual([{ channel: 'D0DM', thread_ts: '1.1', text: UNAVAILABLE_TEXT }]);
});

test('Redis down: a slash command or a button is acknowledged and answered ephemerally', async () => {
  const f = fakes({ type: undefined, command: '/switchboard', trigger_id: 't1' });
  f.withAck();
  await run(true, f.args);
  expect(f.counts()).toEqual({ acked: 1, passedOn: 0 });
  expect(f.responded).toEqual([{ response_type: 'ephemeral', text: UNAVAILABLE_TEXT }]);
});

test('Redis lost while the request was handled: told too; other errors are not swallowed', async () => {
  const lost = fakes(message({ text: 'fix #1 in demo' }));
  lost.args.next = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  };
  await run(false, lost.args);
  expect(lost.posted).toHaveLength(1);

  const broken = fakes(message({ text: 'fix #1 in demo' }));
  broken.args.next = async () => {
    throw new Error('a bug');
  };
  await expect(run(false, broken.args)).rejects.toThrow('a bug');
});

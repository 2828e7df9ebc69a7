// One correlation key per Slack delivery (chat/chat-event.ts): the dedupe
// middleware makes the chat event once, the listeners reuse it, and its
// logger's lines carry `ref`.
import { jest } from '@jest/globals';
import { attachChatEvent, chatEventOf, deliveryRef } from '../../../../src/slack/listeners/event-context.js';
import { dedupeMiddleware } from '../../../../src/slack/listeners/middleware/dedupe.js';
import { Metrics } from '../../../../src/observability/metrics.js';
import { silentLogger } from '../../../../src/observability/logger.js';
import { LogTap } from '../../../support/log-tap.js';

test('the ref is the event id, else the trigger, else the action or message timestamp', () => {
  expect(deliveryRef({ event_id: 'Ev1', trigger_id: 'T1', event: { ts: '1.1' } })).toBe('Ev1');
  expect(deliveryRef({ trigger_id: 'T1', actions: [{ action_ts: '2.2' }] })).toBe('T1');
  expect(deliveryRef({ actions: [{ action_ts: '2.2' }] })).toBe('2.2');
  expect(deliveryRef({ event: { ts: '3.3' } })).toBe('3.3');
  expect(deliveryRef({})).toBeUndefined();
});

test('the middleware makes the chat event once; a listener takes that same one, and its lines carry the ref', async () => {
  const { logger, lines } = new LogTap();
  const context: Record<string, unknown> = {};
  const body = { type: 'event_callback', event_id: 'Ev0ONCE', event: { type: 'message', channel: 'C1', ts: '9.9' } };
  const next = jest.fn(async () => undefined);
  const dedupe = {
    claim: async () => ({ kind: 'claimed' as const, claim: { done: async () => undefined, release: async () => undefined } }),
  };
  await dedupeMiddleware(dedupe, new Metrics(), logger)({ body, context, next } as never);
  expect(next).toHaveBeenCalledTimes(1);

  const made = context.chatEvent;
  expect(made).toMatchObject({ ref: 'Ev0ONCE' });
  const taken = chatEventOf(context as never, body, silentLogger);
  expect(taken).toBe(made);
  taken.log.info('answered a message');
  expect(lines.at(-1)).toMatchObject({ ref: 'Ev0ONCE', msg: 'answered a message' });
});

test('a listener called without the middleware makes its own event from the body', () => {
  const context: Record<string, unknown> = {};
  expect(attachChatEvent(context as never, {}, silentLogger)).toBeUndefined();
  expect(chatEventOf(context as never, { trigger_id: 'T9' }, silentLogger).ref).toBe('T9');
});

// The global middleware of every Slack delivery, called with small fakes (no
// Bolt running): dedupe keys and claims, and the deliveries' metrics.
import { jest } from '@jest/globals';
import { ACTIONS } from '../../../../../src/domain/actions.js';
import { Metrics } from '../../../../../src/observability/metrics.js';
import { silentLogger } from '../../../../../src/observability/logger.js';
import { dedupeKey, dedupeMiddleware } from '../../../../../src/slack/listeners/middleware/dedupe.js';
import { deliveryKind, metricsMiddleware } from '../../../../../src/slack/listeners/middleware/metrics.js';
import { pressBody } from '../../../../support/slack-listener-fakes.js';

describe('global middleware', () => {
  test('dedupe keys: one message as `message` and `app_mention` is one key; a double click is one key for a few seconds', () => {
    const msg = dedupeKey({ type: 'event_callback', event_id: 'Ev1', event: { type: 'message', channel: 'C1', ts: '1.2' } });
    const mention = dedupeKey({ type: 'event_callback', event_id: 'Ev2', event: { type: 'app_mention', channel: 'C1', ts: '1.2' } });
    expect(msg).toEqual(mention);
    const a = dedupeKey(pressBody(ACTIONS.cancelJob, 'j1'));
    const b = dedupeKey({ ...pressBody(ACTIONS.cancelJob, 'j1'), trigger_id: 'another click' });
    expect(a).toEqual(b);
    expect(a?.ttlSeconds).toBeGreaterThan(0);
    expect(dedupeKey(pressBody(ACTIONS.cancelJob, 'j1', 'U0BOB'))).not.toEqual(a);
  });

  test('a redelivered button press is acknowledged and goes no further', async () => {
    const seen = new Set<string>();
    const dedupe = {
      claim: async (id: string) =>
        seen.has(id)
          ? ({ kind: 'done' } as const)
          : (seen.add(id), { kind: 'claimed' as const, claim: { done: async () => undefined, release: async () => void seen.delete(id) } }),
    };
    const metrics = new Metrics();
    const mw = dedupeMiddleware(dedupe, metrics, silentLogger);
    const next = jest.fn(async () => undefined);
    const ack = jest.fn(async () => undefined);
    await mw({ body: pressBody(ACTIONS.cancelJob, 'j1'), context: {}, next, ack } as never);
    await mw({ body: pressBody(ACTIONS.cancelJob, 'j1'), context: {}, next, ack } as never);
    expect(next).toHaveBeenCalledTimes(1);
    expect(ack).toHaveBeenCalledTimes(1);
    expect((await metrics.slackEvents.get()).values.find((v) => v.labels.kind === 'duplicate')?.value).toBe(1);
  });

  test('a delivery whose handler threw is released, so its redelivery is handled', async () => {
    const seen = new Set<string>();
    const dedupe = {
      claim: async (id: string) =>
        seen.has(id)
          ? ({ kind: 'done' } as const)
          : (seen.add(id), { kind: 'claimed' as const, claim: { done: async () => undefined, release: async () => void seen.delete(id) } }),
    };
    const mw = dedupeMiddleware(dedupe, new Metrics(), silentLogger);
    const body = { type: 'event_callback', event_id: 'Ev9', event: { type: 'message', channel: 'C1', ts: '9.9' } };
    const failing = jest.fn(async () => {
      throw new Error('Redis blinked');
    });
    await expect(mw({ body, context: {}, next: failing } as never)).rejects.toThrow('Redis blinked');
    const next = jest.fn(async () => undefined);
    await mw({ body, context: {}, next } as never);
    await mw({ body, context: {}, next } as never);
    expect(next).toHaveBeenCalledTimes(1);
  });

  test('Redis unreachable: the delivery is handled unclaimed (it can answer "try again"), never dropped in silence', async () => {
    const dedupe = { claim: async () => Promise.reject(new Error('connect ECONNREFUSED')) };
    const next = jest.fn(async () => undefined);
    await dedupeMiddleware(
      dedupe,
      new Metrics(),
      silentLogger,
    )({
      body: { type: 'event_callback', event_id: 'Ev8', event: { type: 'message', channel: 'C1', ts: '8.8' } },
      context: {},
      next,
    } as never);
    expect(next).toHaveBeenCalledTimes(1);
  });

  test('slash commands: one invocation (its trigger) is one key, whichever replica gets it; without a trigger, the same words moments apart', () => {
    const cmd = { command: '/switchboard', team_id: 'T1', channel_id: 'C1', user_id: 'U1', text: 'fix #1 in demo' };
    expect(dedupeKey({ ...cmd, trigger_id: 'tr1' })).toEqual({ id: 'command:T1:tr1' });
    expect(dedupeKey({ ...cmd, trigger_id: 'tr2' })).not.toEqual(dedupeKey({ ...cmd, trigger_id: 'tr1' }));
    const bare = dedupeKey(cmd);
    expect(bare?.id).toContain('fix #1 in demo');
    expect(bare?.ttlSeconds).toBeGreaterThan(0);
  });

  test('metrics count deliveries by kind', async () => {
    const metrics = new Metrics();
    const next = jest.fn(async () => undefined);
    await metricsMiddleware(metrics)({ body: pressBody(ACTIONS.retryJob, 'j'), next } as never);
    await metricsMiddleware(metrics)({ body: { command: '/switchboard' }, next } as never);
    expect(next).toHaveBeenCalledTimes(2);
    const counts = Object.fromEntries((await metrics.slackEvents.get()).values.map((v) => [v.labels.kind, v.value]));
    expect(counts).toEqual({ block_actions: 1, slash_command: 1 });
    expect(deliveryKind({ type: 'event_callback', event: { type: 'app_mention' } })).toBe('app_mention');
  });
});

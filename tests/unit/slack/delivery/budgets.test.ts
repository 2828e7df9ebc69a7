// The shapes of the shared Slack budgets (src/slack/delivery/budgets.ts): pure arithmetic, no Redis.
import { bucketShape, bucketsFor, defaultBudgetSettings, sustainedPerWindow } from '../../../../src/slack/delivery/budgets.js';
import { parseMethodBudgets } from '../../../../src/config/slack-method-budgets.js';

test.each([1, 20, 50, 60, 100, 400])('a bucket for %i calls a window never lets more than that into any window', (limit) => {
  const { capacity, refillPerMs } = bucketShape(limit, 60_000);
  expect(capacity).toBeGreaterThanOrEqual(1);
  if (limit > 1) expect(capacity + refillPerMs * 60_000).toBeLessThanOrEqual(limit);
});

test("Slack's tiers by default, chat.postMessage per channel, overrides per method", () => {
  const s = defaultBudgetSettings({ methodLimits: { 'chat.update': 20 } });
  expect(s.methodLimits['chat.getPermalink']).toBe(100);
  expect(bucketsFor(s, 'w1', 'chat.update', 'C1')).toEqual([{ name: 'w1:chat.update', ...bucketShape(20, 60_000) }]);
  expect(bucketsFor(s, 'w1', 'chat.postMessage', 'C1').map((b) => b.name)).toEqual(['w1:chat.postMessage:C1']);
  expect(bucketsFor(s, 'w1', 'auth.test', undefined)).toEqual([]);
  expect(sustainedPerWindow(defaultBudgetSettings(), 'chat.update')).toBeCloseTo(46);
});

test('SLACK_METHOD_BUDGETS: method=calls-per-minute pairs, or a problem', () => {
  expect(parseMethodBudgets('chat.update=40, reactions.add=30')).toEqual({ limits: { 'chat.update': 40, 'reactions.add': 30 } });
  expect(parseMethodBudgets('')).toEqual({ limits: {} });
  expect(parseMethodBudgets('chat.update:40')).toEqual({ problem: expect.stringContaining('chat.update:40') });
  expect(parseMethodBudgets('chat.update=0')).toHaveProperty('problem');
});

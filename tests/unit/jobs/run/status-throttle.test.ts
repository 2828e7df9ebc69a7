// StatusThrottle: one send at a time, newest state wins, the final state last.
// Fake timers drive the clock; a send "stalls" until the test lets it finish.
import { jest } from '@jest/globals';
import { newJob, type JobRecord } from '../../../../src/domain/job.js';
import { silentLogger } from '../../../../src/observability/logger.js';
import { StatusThrottle, type SendInfo } from '../../../../src/jobs/run/status-throttle.js';

const state = (n: number): JobRecord => ({
  ...newJob({ id: 'job1', project: 'demo', issue: 1, request: 'fix #1', channel: 'C1', user: 'U1', createdAt: 0 }),
  state: 'running',
  step: n,
});

function recorder() {
  const sent: { step?: number; info: SendInfo }[] = [];
  let release: (() => void) | undefined;
  let stalled = false;
  const send = (job: JobRecord, info: SendInfo): Promise<void> => {
    sent.push({ step: job.step, info });
    if (!stalled) return Promise.resolve();
    return new Promise<void>((r) => (release = r));
  };
  return {
    sent,
    send,
    stall: () => (stalled = true),
    unstall: () => {
      stalled = false;
      release?.();
    },
  };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('after a 1 s stalled send, only the newest state and the final one go out', async () => {
  const r = recorder();
  const throttle = new StatusThrottle(r.send, 100, silentLogger);
  r.stall();
  throttle.offer(state(1));
  await jest.advanceTimersByTimeAsync(0);
  expect(r.sent.map((s) => s.step)).toEqual([1]);
  // 20 states arrive while the first send hangs for a second.
  for (let i = 2; i <= 21; i++) {
    throttle.offer(state(i));
    await jest.advanceTimersByTimeAsync(50);
  }
  const beforeRelease = r.sent.length;
  r.unstall();
  await jest.advanceTimersByTimeAsync(500);
  await throttle.final({ ...state(22), state: 'done' });
  const after = r.sent.slice(beforeRelease);
  expect(beforeRelease).toBe(1);
  expect(after.map((s) => s.step)).toEqual([21, 22]);
  expect(after.map((s) => s.info.final)).toEqual([false, true]);
});

test('final() during a stalled send drops the pending state and hands the final one over at once; nothing follows', async () => {
  const r = recorder();
  const throttle = new StatusThrottle(r.send, 100, silentLogger);
  r.stall();
  throttle.offer(state(1));
  await jest.advanceTimersByTimeAsync(0);
  for (let i = 2; i <= 10; i++) throttle.offer(state(i));
  const finished = throttle.final({ ...state(11), state: 'done' });
  await jest.advanceTimersByTimeAsync(1000);
  // The notifier orders the two (SlackDelivery: one call per message at a time, or the final replaces a waiting one).
  expect(r.sent.map((s) => s.step)).toEqual([1, 11]);
  r.unstall();
  await finished;
  await jest.advanceTimersByTimeAsync(1000);
  expect(r.sent.map((s) => s.step)).toEqual([1, 11]);
  throttle.offer(state(12));
  await jest.advanceTimersByTimeAsync(1000);
  expect(r.sent).toHaveLength(2);
});

test('the interval can change while the job runs (fair share), and the oldest unshown change is reported', async () => {
  const r = recorder();
  let interval = 100;
  const closed: string[] = [];
  const throttle = new StatusThrottle(
    r.send,
    () => interval,
    silentLogger,
    () => closed.push('closed'),
  );
  throttle.offer(state(1));
  await jest.advanceTimersByTimeAsync(0);
  interval = 1000;
  const offeredAt = Date.now();
  throttle.offer(state(2));
  await jest.advanceTimersByTimeAsync(500);
  throttle.offer(state(3));
  await jest.advanceTimersByTimeAsync(499);
  expect(r.sent.map((s) => s.step)).toEqual([1]);
  await jest.advanceTimersByTimeAsync(1);
  expect(r.sent.map((s) => s.step)).toEqual([1, 3]);
  expect(r.sent[1]?.info.changedAt).toBe(offeredAt);
  throttle.cancel();
  throttle.cancel();
  expect(closed).toEqual(['closed']);
});

// What people see of a job's inference: the GPU wait in its status, tokens and
// GPU time in its result, and the budget verdict. Pure functions.
import { applyEvent } from '../../../src/domain/job.js';
import { overBudget } from '../../../src/domain/budget.js';
import { EVENT_SCHEMA_VERSION } from '../../../src/domain/events.js';
import { statusMessage } from '../../../src/messages/job-status.js';
import { resultMessage } from '../../../src/messages/job-result.js';
import { gpuTimeText, gpuWaitText } from '../../../src/messages/gpu-usage.js';
import { weightOf } from '../../../src/inference/slot-queue.js';
import { aJob, T0 } from '../../support/jobs.js';

const envelope = { v: EVENT_SCHEMA_VERSION, jobId: 'a1b2c3d4e5f6', seq: 0, ts: T0 } as const;
const plain = (m: object) => JSON.stringify(m);

test('a waiting event shows the place in line in the status; position 0 clears it', () => {
  const running = aJob({ state: 'running', startedAt: T0 });
  const waiting = applyEvent(running, { ...envelope, type: 'waiting', for: 'gpu', position: 3 });
  expect(waiting.gpuWait).toBe(3);
  expect(plain(statusMessage(waiting, T0 + 5000))).toContain('waiting for the GPU · 3rd in line');
  const served = applyEvent(waiting, { ...envelope, type: 'waiting', for: 'gpu', position: 0 });
  expect(served.gpuWait).toBeUndefined();
  expect(plain(statusMessage(served, T0 + 5000))).not.toContain('waiting for the GPU');
  expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(gpuWaitText)).toEqual([
    'waiting for the GPU · next in line',
    'waiting for the GPU · 2nd in line',
    'waiting for the GPU · 3rd in line',
    'waiting for the GPU · 4th in line',
    'waiting for the GPU · 11th in line',
    'waiting for the GPU · 12th in line',
    'waiting for the GPU · 13th in line',
    'waiting for the GPU · 21st in line',
    'waiting for the GPU · 22nd in line',
    'waiting for the GPU · 101st in line',
  ]);
});

test('usage events add up tokens and GPU time, and the result shows both', () => {
  let job = aJob({ state: 'running', startedAt: T0 });
  job = applyEvent(job, { ...envelope, type: 'usage', model: 'q', promptTokens: 1000, completionTokens: 200, gpuSeconds: 4.5 });
  job = applyEvent(job, { ...envelope, type: 'usage', model: 'q', promptTokens: 200, completionTokens: 100, gpuSeconds: 7.8 });
  expect(job).toMatchObject({ promptTokens: 1200, completionTokens: 300, gpuSeconds: 12.3 });
  const done = applyEvent(job, { ...envelope, ts: T0 + 60_000, type: 'done', summary: 'ok' });
  expect(plain(resultMessage(done, T0 + 60_000))).toContain('tokens: 1,200 in / 300 out · GPU 12 s');
  expect([0.25, 9.94, 12.3, 75.2].map(gpuTimeText)).toEqual(['GPU 0.3 s', 'GPU 9.9 s', 'GPU 12 s', 'GPU 1m 15s']);
});

test('the budget verdict names what was passed, by how much, and where the limit is set', () => {
  const job = aJob({ promptTokens: 1_500_000, completionTokens: 500_512, gpuSeconds: 100 });
  expect(overBudget(job, undefined)).toBeUndefined();
  expect(overBudget(job, { tokens: 3_000_000, gpuSeconds: 1800 })).toBeUndefined();
  expect(overBudget(job, { tokens: 2_000_000 })).toBe(
    'stopped: it used 2,000,512 tokens, more than the 2,000,000 a job of billing-api may use (budget.tokens in the project catalogue)',
  );
  expect(overBudget(job, { gpuSeconds: 60 })).toBe(
    'stopped: it held the GPU for 100 s, more than the 60 s a job of billing-api may use (budget.gpuSeconds in the project catalogue)',
  );
});

test("a project's priority becomes its weight in the GPU queue", () => {
  expect([0, 10, 20, -10, 100, -100].map(weightOf)).toEqual([1, 2, 4, 0.5, 16, 1 / 16]);
});

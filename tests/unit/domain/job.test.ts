import { EVENT_SCHEMA_VERSION, type AgentEvent, type AgentEventBody } from '../../../src/domain/events.js';
import { aJob, T0 } from '../../support/jobs.js';
import { applyEvent, failJob, formatDuration, isFinished, RECENT_LOG_LINES } from '../../../src/domain/job.js';
import { resultMessage } from '../../../src/messages/job-result.js';
import { statusMessage } from '../../../src/messages/job-status.js';
import { renderMessage } from '../../../src/slack/render/block-kit.js';

const newJob = aJob;

let seq = 0;
const ev = (body: AgentEventBody, ts = T0 + 1000): AgentEvent =>
  ({ ...body, v: EVENT_SCHEMA_VERSION, jobId: 'a1b2c3d4e5f6', seq: seq++, ts }) as AgentEvent;

const started = (ts = T0 + 1000) => ev({ type: 'started', project: 'billing-api', ref: '58', image: 'img', host: 'box-1' }, ts);
const log = (text: string) => ev({ type: 'log', text, level: 'info' });

describe('applyEvent', () => {
  test('started: the job runs, on its host, from the event time', () => {
    const job = applyEvent(newJob(), started(T0 + 5000));
    expect(job).toMatchObject({ state: 'running', host: 'box-1', startedAt: T0 + 5000 });
  });

  test('a second started keeps the first start time', () => {
    const job = applyEvent(applyEvent(newJob(), started(T0 + 5000)), started(T0 + 9000));
    expect(job.startedAt).toBe(T0 + 5000);
  });

  test('log lines the runner dropped add up on the record, and the status and the result say so', () => {
    let job = applyEvent(newJob(), started());
    job = applyEvent(job, ev({ type: 'log', text: 'a', level: 'warn', dropped: 1000 }));
    job = applyEvent(job, ev({ type: 'log', text: 'b', level: 'info' }));
    job = applyEvent(job, ev({ type: 'log', text: 'c', level: 'warn', dropped: 234 }));
    expect(job.droppedLogLines).toBe(1234);
    expect(JSON.stringify(renderMessage(statusMessage(job, T0 + 2000)))).toContain('1,234 log lines dropped');
    const done = applyEvent(job, ev({ type: 'done', summary: 'fixed' }));
    expect(JSON.stringify(renderMessage(resultMessage(done, T0 + 3000)))).toContain('1,234 log lines dropped');
    expect(JSON.stringify(renderMessage(resultMessage(applyEvent(newJob(), ev({ type: 'done', summary: 'x' })), T0)))).not.toContain(
      'dropped',
    );
  });

  test('progress: records the step, total, name and text', () => {
    const job = applyEvent(newJob({ state: 'starting' }), ev({ type: 'progress', step: 2, total: 5, name: 'test', text: 'npm test' }));
    expect(job).toMatchObject({ state: 'running', step: 2, totalSteps: 5, stepName: 'test', stepText: 'npm test' });
  });

  test('progress without text clears the previous step text', () => {
    let job = applyEvent(newJob(), ev({ type: 'progress', step: 1, total: 3, name: 'clone', text: 'cloning' }));
    job = applyEvent(job, ev({ type: 'progress', step: 2, total: 3, name: 'build' }));
    expect(job.stepText).toBeUndefined();
    expect(job.stepName).toBe('build');
  });

  test(`log keeps only the last ${RECENT_LOG_LINES} lines, newest last`, () => {
    let job = applyEvent(newJob(), started());
    for (let i = 1; i <= 10; i++) job = applyEvent(job, log(`line ${i}`));
    expect(job.recentLogs).toEqual(Array.from({ length: RECENT_LOG_LINES }, (_, i) => `line ${10 - RECENT_LOG_LINES + 1 + i}`));
  });

  test('log clips a very long line and marks the cut', () => {
    const job = applyEvent(newJob(), log('x'.repeat(10_000)));
    const line = job.recentLogs[0] ?? '';
    expect(line.length).toBeLessThan(1000);
    expect(line.endsWith('…')).toBe(true);
    expect(line.startsWith('xxxx')).toBe(true);
  });

  test('log keeps a short line as it is', () => {
    expect(applyEvent(newJob(), log('ok')).recentLogs).toEqual(['ok']);
  });

  test('applyEvent does not change the record it is given', () => {
    const before = newJob({ recentLogs: ['a'] });
    const copy = structuredClone(before);
    applyEvent(before, log('b'));
    applyEvent(before, ev({ type: 'usage', model: 'm', promptTokens: 5, completionTokens: 5 }));
    expect(before).toEqual(copy);
  });

  test('usage accumulates tokens and cost', () => {
    let job = newJob();
    job = applyEvent(job, ev({ type: 'usage', model: 'm', promptTokens: 100, completionTokens: 10, costUsd: 0.25 }));
    job = applyEvent(job, ev({ type: 'usage', model: 'm', promptTokens: 50, completionTokens: 5 }));
    job = applyEvent(job, ev({ type: 'usage', model: 'm', promptTokens: 1, completionTokens: 2, costUsd: 0.5 }));
    expect(job).toMatchObject({ promptTokens: 151, completionTokens: 17, costUsd: 0.75 });
  });

  test('usage without any cost leaves the cost unknown', () => {
    const job = applyEvent(newJob(), ev({ type: 'usage', model: 'm', promptTokens: 1, completionTokens: 1 }));
    expect(job.costUsd).toBeUndefined();
  });

  test('question changes nothing (yet)', () => {
    const job = newJob({ state: 'running' });
    expect(applyEvent(job, ev({ type: 'question', questionId: 'q', text: 'ok?', kind: 'confirm', timeoutSeconds: 60 }))).toEqual(job);
  });

  test('done: finished, with summary, PR, branch and commit', () => {
    const job = applyEvent(
      applyEvent(newJob(), started()),
      ev({ type: 'done', summary: 'Fixed it', prUrl: 'https://github.com/acme/b/pull/9', branch: 'fix-58', commit: 'abc' }, T0 + 60_000),
    );
    expect(job).toMatchObject({
      state: 'done',
      finishedAt: T0 + 60_000,
      summary: 'Fixed it',
      prUrl: 'https://github.com/acme/b/pull/9',
      branch: 'fix-58',
      commit: 'abc',
    });
    expect(isFinished(job)).toBe(true);
  });

  test('failed: finished with the reason, and the step it names', () => {
    const job = applyEvent(
      newJob({ state: 'running', step: 1, stepName: 'clone' }),
      ev({ type: 'failed', reason: 'tests failed', step: 3, name: 'test', retryable: false }, T0 + 7000),
    );
    expect(job).toMatchObject({
      state: 'failed',
      finishedAt: T0 + 7000,
      reason: 'tests failed',
      retryable: false,
      step: 3,
      stepName: 'test',
    });
  });

  test('failed without a step keeps the step the job was at', () => {
    const job = applyEvent(
      newJob({ state: 'running', step: 2, stepName: 'build' }),
      ev({ type: 'failed', reason: 'oom', retryable: true }),
    );
    expect(job).toMatchObject({ step: 2, stepName: 'build', retryable: true });
  });

  test.each(['done', 'failed', 'cancelled'] as const)('events after the job is %s change nothing', (state) => {
    const finished = newJob({ state, finishedAt: T0 + 1, recentLogs: ['last'], reason: 'r', summary: 's' });
    const later = [
      started(),
      ev({ type: 'progress', step: 4, total: 5, name: 'late' }),
      log('late line'),
      ev({ type: 'usage', model: 'm', promptTokens: 9, completionTokens: 9, costUsd: 1 }),
      ev({ type: 'done', summary: 'late done' }),
      ev({ type: 'failed', reason: 'late failure', retryable: true }),
    ];
    for (const e of later) expect(applyEvent(finished, e)).toEqual(finished);
  });
});

describe('failJob', () => {
  test('fails a running job with the reason and time', () => {
    const job = failJob(newJob({ state: 'running' }), 'the agent stopped sending heartbeats', T0 + 99, false);
    expect(job).toMatchObject({ state: 'failed', reason: 'the agent stopped sending heartbeats', finishedAt: T0 + 99, retryable: false });
  });

  test('is retryable unless told otherwise', () => {
    expect(failJob(newJob(), 'lost', T0).retryable).toBe(true);
  });

  test.each(['done', 'failed', 'cancelled'] as const)('leaves a %s job alone', (state) => {
    const job = newJob({ state, reason: 'original' });
    expect(failJob(job, 'later', T0 + 1)).toEqual(job);
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [-5000, '0s'],
    [499, '0s'],
    [500, '1s'],
    [38_000, '38s'],
    [59_499, '59s'],
    [60_000, '1m 0s'],
    [252_000, '4m 12s'],
    [3_599_000, '59m 59s'],
    [3_600_000, '1h 0m'],
    [3_780_000, '1h 3m'],
    [26 * 3_600_000, '26h 0m'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

import type { JobRecord, JobState } from '../../../../src/domain/job.js';
import { aJob } from '../../../support/jobs.js';
import { GRAMMAR } from '../../../../src/domain/intents.js';
import { escapeMrkdwn, type SlackMessage } from '../../../../src/slack/render/blocks.js';
import { renderMessage } from '../../../../src/slack/render/block-kit.js';
import { statusMessage } from '../../../../src/messages/job-status.js';
import { resultMessage } from '../../../../src/messages/job-result.js';
import { replyMessage } from '../../../../src/chat/reply-messages.js';
import type { Reply } from '../../../../src/chat/replies.js';
import { BLOCK_KIT_LIMITS, validateBlocks } from '../../../support/slack-emulator/index.js';

// The builders (src/messages/) rendered for Slack, as the notifier and the listeners do.
const renderStatus = (j: JobRecord, now?: number): SlackMessage => renderMessage(statusMessage(j, now));
const renderResult = (j: JobRecord, now?: number): SlackMessage => renderMessage(resultMessage(j, now));
const renderReply = (r: Reply, now?: number): SlackMessage | undefined => {
  const m = replyMessage(r, now);
  return m && renderMessage(m);
};

const T0 = 1_700_000_000_000;
const NOW = T0 + 252_000; // 4m 12s after creation
const PR = 'https://github.com/acme/billing-api/pull/77';
const THREAD = 'https://acme.slack.com/archives/C0123ABCD/p1700000000000100';
const MENTION = '<!channel>';
const HUGE = 10_000;

const job = (state: JobState, over: Partial<JobRecord> = {}): JobRecord => aJob({ state, ...over });

/** Everything a person might see: the fallback text and every text in the blocks. */
const visible = (m: SlackMessage): string => `${m.text}\n${JSON.stringify(m.blocks)}`;
const blockText = (m: SlackMessage): string => JSON.stringify(m.blocks);

function expectWithinSlackLimits(m: SlackMessage | undefined): void {
  expect(m).toBeDefined();
  if (!m) return;
  expect(validateBlocks(m.blocks)).toEqual([]);
  expect(m.text.length).toBeGreaterThan(0);
  expect(m.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.messageText);
}

/** A record where every free-text field is enormous and full of mrkdwn that must not take effect. */
function hostile(state: JobState): JobRecord {
  const noise = (label: string) => `${label} ${MENTION} <@U0999ABCD> <https://evil.example|click> \`\`\` & `.padEnd(HUGE, '<>&x');
  return job(state, {
    startedAt: T0 + 1000,
    finishedAt: state === 'done' || state === 'failed' || state === 'cancelled' ? T0 + 61_000 : undefined,
    step: 3,
    totalSteps: 5,
    stepName: noise('step'),
    stepText: noise('text'),
    recentLogs: [noise('log1'), noise('log2'), noise('log3'), '```'.repeat(HUGE / 3)],
    host: noise('host'),
    summary: `${noise('summary')}\n${'line\n'.repeat(2000)}`,
    reason: noise('reason'),
    branch: noise('branch'),
    prUrl: PR,
    promptTokens: 1_234_567,
    completionTokens: 89_000,
    costUsd: 12.345,
  });
}

const ALL_STATES: JobState[] = ['queued', 'starting', 'running', 'done', 'failed', 'cancelled'];

describe('renderStatus', () => {
  test('queued: names project and issue and says it waits for a slot', () => {
    const m = renderStatus(job('queued'), NOW);
    expect(blockText(m)).toContain('billing-api #58');
    expect(m.text).toMatch(/queued/);
    expect(m.text).toContain('billing-api #58');
  });

  test("shows when it was last refreshed, in the reader's time zone, with a UTC fallback", () => {
    const m = renderStatus(job('running', { step: 1, totalSteps: 3 }), NOW);
    const secs = Math.floor(NOW / 1000);
    expect(blockText(m)).toContain(`updated <!date^${secs}^{time_secs}|${new Date(NOW).toISOString().slice(11, 19)} UTC>`);
  });

  test('starting: says the agent is starting', () => {
    expect(renderStatus(job('starting'), NOW).text).toMatch(/starting/);
  });

  test('running: step number, total and name, elapsed time, step text, recent logs, host and requester', () => {
    const m = renderStatus(
      job('running', {
        startedAt: T0,
        step: 2,
        totalSteps: 5,
        stepName: 'run tests',
        stepText: 'npm test',
        recentLogs: ['PASS a.test.ts'],
        host: 'box-1',
      }),
      NOW,
    );
    const text = blockText(m);
    expect(text).toContain('billing-api #58');
    expect(text).toContain('step 2/5 (run tests)');
    expect(text).toContain('4m 12s');
    expect(text).toContain('npm test');
    expect(text).toContain('PASS a.test.ts');
    expect(text).toContain('box-1');
    expect(text).toContain('<@U0123ABCD>');
    expect(text).toContain('a1b2c3d4e5f6');
  });

  test('done: says done with the duration and links the pull request', () => {
    const m = renderStatus(job('done', { startedAt: T0, finishedAt: T0 + 38_000, prUrl: PR }), NOW);
    expect(m.text).toMatch(/done in 38s/);
    expect(blockText(m)).toContain(`<${PR}|`);
  });

  test('failed: names the step it failed at and why', () => {
    const m = renderStatus(
      job('failed', { startedAt: T0, finishedAt: T0 + 60_000, step: 3, totalSteps: 5, stepName: 'test', reason: 'tests failed' }),
      NOW,
    );
    const text = blockText(m);
    expect(text).toContain('failed at step 3/5 (test)');
    expect(text).toContain('tests failed');
  });

  test('cancelled: says so', () => {
    expect(renderStatus(job('cancelled', { finishedAt: T0 + 5000 }), NOW).text).toMatch(/cancelled after 5s/);
  });

  test.each(ALL_STATES)('%s with 10,000-character fields stays within Block Kit limits', (state) => {
    expectWithinSlackLimits(renderStatus(hostile(state), NOW));
  });

  test.each(ALL_STATES)('%s: agent text cannot mention the channel', (state) => {
    const m = renderStatus(
      job(state, {
        step: 1,
        totalSteps: 2,
        stepName: MENTION,
        stepText: MENTION,
        recentLogs: [MENTION],
        host: MENTION,
        reason: MENTION,
        summary: MENTION,
        finishedAt: T0 + 1,
      }),
      NOW,
    );
    expect(visible(m)).not.toContain(MENTION);
  });
});

describe('renderResult', () => {
  test('done: project #issue, pull request link, summary, duration, tokens, cost and branch', () => {
    const m = renderResult(
      job('done', {
        startedAt: T0,
        finishedAt: T0 + 252_000,
        prUrl: PR,
        summary: 'Fixed the rounding.\nAdded a test.',
        branch: 'fix-58',
        promptTokens: 1200,
        completionTokens: 300,
        costUsd: 0.041,
      }),
      NOW,
    );
    const text = blockText(m);
    expect(text).toContain('billing-api #58');
    expect(text).toContain(`<${PR}|`);
    expect(text).toContain('> Fixed the rounding.\\n> Added a test.');
    expect(text).toContain('took 4m 12s');
    expect(text).toContain('1,200 in / 300 out · $0.04');
    expect(text).toContain('fix-58');
    expect(m.text).toContain(PR);
  });

  test('done without a pull request or usage says neither', () => {
    const m = renderResult(job('done', { startedAt: T0, finishedAt: T0 + 1000, summary: 'nothing to change' }), NOW);
    expect(visible(m)).not.toMatch(/pull request|tokens/);
  });

  test('failed: the step, the reason, and how to try again', () => {
    const m = renderResult(
      job('failed', { startedAt: T0, finishedAt: T0 + 9000, step: 3, totalSteps: 5, stepName: 'test', reason: 'tests failed' }),
      NOW,
    );
    const text = blockText(m);
    expect(text).toContain('billing-api #58');
    expect(text).toContain('failed at step 3/5 (test)');
    expect(text).toContain('*Why:* tests failed');
    expect(text).toContain('`retry`');
    expect(text).toContain('"action_id":"job.retry"');
    expect(m.text).toContain('tests failed');
  });

  test('failed without a reason says none was given', () => {
    expect(blockText(renderResult(job('failed', { finishedAt: T0 + 1 }), NOW))).toContain('no reason was given');
  });

  test('cancelled says it was cancelled', () => {
    expect(renderResult(job('cancelled', { finishedAt: T0 + 1, reason: 'cancelled by <@U1>' }), NOW).text).toMatch(/was cancelled/);
  });

  test.each(['done', 'failed', 'cancelled'] as const)('%s with 10,000-character fields stays within Block Kit limits', (state) => {
    expectWithinSlackLimits(renderResult(hostile(state), NOW));
  });

  test('a summary cannot mention the channel', () => {
    const m = renderResult(job('done', { finishedAt: T0 + 1, summary: `Done. ${MENTION} look!`, branch: MENTION }), NOW);
    expect(visible(m)).not.toContain(MENTION);
    expect(blockText(m)).toContain(escapeMrkdwn(MENTION));
  });

  test.each(['failed', 'cancelled'] as const)('a %s reason cannot mention the channel, in the blocks or the notification text', (state) => {
    const m = renderResult(job(state, { finishedAt: T0 + 1, reason: `build broke ${MENTION}` }), NOW);
    expect(blockText(m)).not.toContain(MENTION);
    // The fallback `text` is what notifications show; Slack parses <!channel> there too.
    expect(m.text).not.toContain(MENTION);
  });
});

describe('renderReply', () => {
  const running = job('running', { startedAt: T0 + 1000, step: 2, totalSteps: 4, stepName: 'build' });

  test.each([{ kind: 'silent' }, { kind: 'queued', job: job('queued') }] as Reply[])('$kind: nothing is said', (reply) => {
    expect(renderReply(reply, NOW)).toBeUndefined();
  });

  test("help: the grammar, every example and meaning of the parser's table", () => {
    const m = renderReply({ kind: 'help' }, NOW);
    expectWithinSlackLimits(m);
    for (const g of GRAMMAR) {
      for (const e of g.examples) expect(blockText(m!)).toContain(`\`${e}\``);
      expect(blockText(m!)).toContain(escapeMrkdwn(g.meaning));
    }
    expect(blockText(m!)).toContain('/switchboard &lt;text&gt;');
  });

  test('not-understood: quotes what was said, gives the hint and an example', () => {
    const m = renderReply({ kind: 'not-understood', text: 'fix the build', hint: 'Name the issue.' }, NOW);
    expectWithinSlackLimits(m);
    const text = blockText(m!);
    expect(text).toContain('fix the build');
    expect(text).toContain('Name the issue.');
    expect(text).toContain('fix #58 in billing-api');
  });

  test('not-understood: what the user said cannot mention the channel, in the blocks or the notification text', () => {
    const m = renderReply({ kind: 'not-understood', text: `deploy ${MENTION} now` }, NOW)!;
    expect(blockText(m)).not.toContain(MENTION);
    expect(m.text).not.toContain(MENTION);
  });

  test('info and rejected: show their text', () => {
    expect(renderReply({ kind: 'info', text: 'Projects you can start here' }, NOW)!.text).toContain('Projects you can start here');
    const rejected = renderReply({ kind: 'rejected', message: "I don't know a project called `nope`." }, NOW)!;
    expect(rejected.text).toContain('nope');
    expect(rejected.text).toMatch(/warning/);
  });

  test('busy: says the channel is busy, with what runs, who started it, how long ago, and a link to its thread', () => {
    const m = renderReply({ kind: 'busy', running: job('running'), link: THREAD }, NOW)!;
    expectWithinSlackLimits(m);
    const text = blockText(m);
    expect(text).toMatch(/busy/);
    expect(text).toContain('billing-api #58');
    expect(text).toContain('<@U0123ABCD>');
    expect(text).toContain('4m 12s ago');
    expect(text).toContain(`<${THREAD}|`);
  });

  test('busy without a known job or link still says busy', () => {
    const m = renderReply({ kind: 'busy' }, NOW)!;
    expect(m.text).toMatch(/busy with another job/);
    expect(m.text).not.toContain('<http');
  });

  test('status: the running job, its step, how long it has run, and its thread', () => {
    const m = renderReply({ kind: 'status', job: running, link: THREAD }, NOW)!;
    expectWithinSlackLimits(m);
    const text = blockText(m);
    expect(text).toContain('billing-api #58');
    expect(text).toContain('step 2/4 (build)');
    expect(text).toContain('4m 11s');
    expect(text).toContain(`<${THREAD}|thread>`);
  });

  test('status before any step shows the state', () => {
    expect(renderReply({ kind: 'status', job: job('queued') }, NOW)!.text).toContain('queued');
  });

  test('status with nothing running says how to start a job', () => {
    expect(renderReply({ kind: 'status' }, NOW)!.text).toMatch(/Nothing is running.*fix #58/);
  });

  test('internal-error: says nothing was started and gives the ref to look up', () => {
    const text = renderReply({ kind: 'internal-error', ref: 'Ev0123ABC' }, NOW)!.text;
    expect(text).toContain('nothing was started');
    expect(text).toContain('Ev0123ABC');
  });

  test.each<[string, Reply]>([
    ['not-understood', { kind: 'not-understood', text: `${MENTION}`.padEnd(HUGE, '<'), hint: 'x'.repeat(HUGE) }],
    ['info', { kind: 'info', text: 'i'.repeat(HUGE) }],
    ['rejected', { kind: 'rejected', message: 'r'.repeat(HUGE) }],
    ['busy', { kind: 'busy', running: hostile('running'), link: THREAD }],
    ['status', { kind: 'status', job: hostile('running'), link: THREAD }],
  ])('%s with 10,000-character text stays within Block Kit limits', (_kind, reply) => {
    expectWithinSlackLimits(renderReply(reply, NOW));
  });
});

describe('block helpers', () => {
  test('escapeMrkdwn neutralises &, < and >', () => {
    expect(escapeMrkdwn('a & <!here> > b')).toBe('a &amp; &lt;!here&gt; &gt; b');
  });

  test('recent log lines cannot break out of their code block with backticks', () => {
    const m = renderStatus(job('running', { recentLogs: ['before', '```', '<!channel>', 'after'] }), NOW);
    const code = (m.blocks as { text?: { text: string } }[]).map((b) => b.text?.text ?? '').find((t) => t.startsWith('```')) ?? '';
    expect(code.slice(3, -3)).not.toContain('```');
    expect(validateBlocks(m.blocks)).toEqual([]);
  });
});

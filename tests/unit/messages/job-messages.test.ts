// The message builders (src/messages/) for every kind of message the bot
// sends, rendered for Slack and compared with golden files; and the rules
// they keep: buttons carry the action ids of domain/actions.ts, mentions stay
// structured until the renderer, help lists exactly the parser's table.
import { ACTIONS } from '../../../src/domain/actions.js';
import { GRAMMAR } from '../../../src/domain/intents.js';
import type { JobRecord } from '../../../src/domain/job.js';
import { code, plainText, quotedCode, text, type Message, type MessageBlock } from '../../../src/domain/message.js';
import { statusMessage } from '../../../src/messages/job-status.js';
import { resultMessage } from '../../../src/messages/job-result.js';
import { helpMessage } from '../../../src/chat/help.js';
import { jobListMessage } from '../../../src/messages/job-list.js';
import { controlMessage, replyMessage } from '../../../src/chat/reply-messages.js';
import { renderMessage } from '../../../src/slack/render/block-kit.js';
import { validateBlocks } from '../../support/slack-emulator/index.js';
import { expectGolden } from '../../support/golden.js';
import { aJob, T0 } from '../../support/jobs.js';

const NOW = T0 + 252_000;
const THREAD = 'https://acme.slack.com/archives/C0123ABCD/p1700000000000100';
const running = aJob({
  state: 'running',
  startedAt: T0 + 2000,
  step: 2,
  totalSteps: 3,
  stepName: 'run agent',
  stepText: 'writing tests',
  recentLogs: ['PASS a.test.ts', 'FAIL b.test.ts'],
  host: 'agent-1',
});
const finished = (over: Partial<JobRecord>): JobRecord => ({ ...running, finishedAt: T0 + 200_000, ...over });

const buttons = (m: Message) => m.blocks.flatMap((b: MessageBlock) => (b.type === 'actions' ? b.buttons : []));

const KINDS: Record<string, Message> = {
  queued: statusMessage(aJob(), NOW, { queuePosition: 2 }),
  running: statusMessage(running, NOW),
  done: resultMessage(
    finished({
      state: 'done',
      summary: 'Fixed the rounding.\nAdded 3 tests.',
      prUrl: 'https://github.com/acme/billing-api/pull/77',
      branch: 'fix/58',
      promptTokens: 12_000,
      completionTokens: 3400,
      costUsd: 0.41,
    }),
    NOW,
  ),
  failed: resultMessage(finished({ state: 'failed', reason: 'npm test exited with code 1', retryable: true }), NOW),
  cancelled: resultMessage(finished({ state: 'cancelled', cancelledBy: 'U0BOB', reason: 'cancelled by a project admin' }), NOW),
  busy: replyMessage({ kind: 'busy', running, link: THREAD }, NOW) as Message,
  help: helpMessage(),
  list: jobListMessage(
    [
      { job: running, link: THREAD },
      { job: aJob({ id: 'b2c3d4e5f6a1', project: 'web', issue: 12, user: 'U0BOB', channel: 'C0WEB' }), position: 1 },
      { job: aJob({ id: 'c3d4e5f6a1b2', project: 'web', issue: 13, user: 'U0CAROL', channel: 'C0WEB2' }), position: 2 },
    ],
    NOW,
  ),
};

describe('message kinds: golden files', () => {
  test.each(Object.keys(KINDS))('%s', (kind) => {
    const rendered = renderMessage(KINDS[kind] as Message);
    expect(validateBlocks(rendered.blocks)).toEqual([]);
    expectGolden('unit', `message-${kind}`, rendered);
  });
});

describe('buttons', () => {
  test('a job that can still be cancelled has a Cancel button with a confirm dialog, carrying its id', () => {
    for (const state of ['queued', 'starting', 'running'] as const) {
      const [cancel] = buttons(statusMessage(aJob({ state }), NOW));
      expect(cancel).toMatchObject({ actionId: ACTIONS.cancelJob, value: 'a1b2c3d4e5f6', style: 'danger', confirm: { danger: true } });
    }
  });

  test('a finished status has no buttons; a failed or cancelled result has Retry, a done one none', () => {
    for (const state of ['done', 'failed', 'cancelled'] as const) expect(buttons(statusMessage(finished({ state }), NOW))).toEqual([]);
    expect(buttons(resultMessage(finished({ state: 'failed', reason: 'x' }), NOW))).toEqual([
      { actionId: ACTIONS.retryJob, label: 'Retry', value: running.id, style: 'primary' },
    ]);
    expect(buttons(resultMessage(finished({ state: 'cancelled', cancelledBy: 'U0BOB' }), NOW)).map((b) => b.actionId)).toEqual([
      ACTIONS.retryJob,
    ]);
    expect(buttons(resultMessage(finished({ state: 'done' }), NOW))).toEqual([]);
  });
});

describe('who cancelled', () => {
  test('the final status and the result name the canceller as a mention, marked up only by the renderer', () => {
    const job = finished({ state: 'cancelled', cancelledBy: 'U0BOB' });
    for (const m of [statusMessage(job, NOW), resultMessage(job, NOW)]) {
      expect(JSON.stringify(m)).toContain('{"type":"mention","userId":"U0BOB"}');
      expect(JSON.stringify(m)).not.toContain('<@');
      expect(JSON.stringify(renderMessage(m))).toContain('<@U0BOB>');
    }
  });

  test('refusals say who may, without names', () => {
    const m = controlMessage({ kind: 'not-allowed', job: running, action: 'cancel' }, NOW) as Message;
    const words = m.blocks.map((b) => (b.type === 'section' && b.text ? plainText(b.text) : '')).join(' ');
    expect(words).toContain('Only the requester or a project admin may cancel');
    expect(JSON.stringify(m)).not.toContain('mention');
  });
});

describe('help', () => {
  test("lists every example and meaning of the parser's table, and nothing else as a command", () => {
    const json = JSON.stringify(renderMessage(helpMessage()));
    for (const g of GRAMMAR) {
      for (const e of g.examples) expect(json).toContain(`\`${e}\``);
      expect(json).toContain(g.meaning.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
    }
    const listed = [...json.matchAll(/• (`[^`]+`(?: · `[^`]+`)*) —/g)].flatMap((m) =>
      [...(m[1] ?? '').matchAll(/`([^`]+)`/g)].map((x) => x[1]),
    );
    expect(listed.sort()).toEqual(GRAMMAR.flatMap((g) => g.examples).sort());
  });
});

describe('list', () => {
  test('running jobs first, then the queue with places; nothing open says how to start one', () => {
    const words = JSON.stringify(KINDS.list);
    expect(words.indexOf('billing-api #58')).toBeLessThan(words.indexOf('web #12'));
    expect(words).toContain('1st in line');
    expect(words).toContain('2nd in line');
    expect(JSON.stringify(jobListMessage([], NOW))).toContain('fix #58 in <project>');
  });
});

describe('plain words from dispatch code', () => {
  test('backtick-quoted spans become structured code, for every renderer alike', () => {
    expect(quotedCode("I don't know `nope`. Say `projects`.")).toEqual([
      text("I don't know "),
      code('nope'),
      text('. Say '),
      code('projects'),
      text('.'),
    ]);
    expect(quotedCode('an unpaired ` stays')).toEqual([text('an unpaired ` stays')]);
    expect(quotedCode('``')).toEqual([]);
  });

  test('a rejection keeps its quoted project names as code', () => {
    const m = replyMessage({ kind: 'rejected', message: "I don't know a project called `nope`." }, NOW) as Message;
    expect(JSON.stringify(m)).toContain('{"type":"code","text":"nope"}');
  });
});

describe('a cancel under way', () => {
  test('the status says who asked and drops its Cancel button while the agent stops', () => {
    const m = statusMessage({ ...running, cancelRequestedBy: 'U0BOB' }, NOW);
    expect(renderMessage(m).text).toContain('cancelling: <@U0BOB> asked to stop it');
    expect(buttons(m)).toEqual([]);
  });
});

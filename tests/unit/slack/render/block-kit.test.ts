// The Message → Block Kit renderer: golden files for every message kind, and
// Slack's limits and escaping held however hostile or long the input.
import { renderMessage, renderRichText, SLACK_LIMITS } from '../../../../src/slack/render/block-kit.js';
import {
  actions,
  bold,
  channel,
  code,
  contextLine,
  emoji,
  fields,
  joined,
  link,
  mention,
  plainText,
  section,
  text,
  type Button,
  type Message,
  type MessageBlock,
} from '../../../../src/domain/message.js';
import { validateBlocks } from '../../../support/slack-emulator/block-kit.js';
import { expectGolden } from '../../../support/golden.js';

const cancelButton: Button = {
  actionId: 'job.cancel',
  label: 'Cancel',
  value: 'j0000000001',
  style: 'danger',
  confirm: {
    title: 'Cancel this job?',
    text: 'The agent gets a grace period, then it is stopped.',
    confirm: 'Cancel the job',
    deny: 'Keep it running',
    danger: true,
  },
};
const retryButton: Button = { actionId: 'job.retry', label: 'Retry', value: 'j0000000001', style: 'primary' };
const jobLine = contextLine(
  text('requested by '),
  mention('U0ALICE'),
  text(' · job '),
  code('j0000000001'),
  text(' · on '),
  text('agent-host-1'),
);

// One example of each kind the issue names; the next session's builders will produce these shapes.
const KINDS: Record<string, Message> = {
  queued: {
    blocks: [
      section(emoji('hourglass_flowing_sand'), text(' '), bold('billing-api #58'), text(' — queued: 2nd in line')),
      jobLine,
      actions(cancelButton),
    ],
  },
  running: {
    blocks: [
      section(emoji('gear'), text(' '), bold('billing-api #58'), text(' — running · step 2/3 (run agent) · 4m 10s')),
      contextLine(text('writing tests for the rounding fix')),
      { type: 'code', text: 'PASS src/money.test.ts\nFAIL src/tax.test.ts\n  expected 1.05 < received 1.04 & more', keep: 'end' },
      jobLine,
      actions(cancelButton),
    ],
  },
  question: {
    summary: [text('The agent asks: Which database should the migration target?')],
    blocks: [
      section(emoji('question'), text(' '), bold('The agent asks:'), text(' Which database should the migration target?')),
      actions(
        ...['postgres', 'mysql', 'sqlite'].map((c): Button => ({
          actionId: 'question.answer',
          label: c,
          value: JSON.stringify({ q: 'q1', a: c }),
        })),
      ),
      contextLine(text('Default '), code('postgres'), text(' in 5 minutes · answered by the requester or a project admin')),
    ],
  },
  approval: {
    blocks: [
      section(emoji('lock'), text(' '), bold('Approval needed:'), text(' push to '), code('main'), text('?')),
      actions(
        { actionId: 'question.answer', label: 'Approve', value: '{"q":"q2","a":"yes"}', style: 'primary' },
        { actionId: 'question.answer', label: 'Deny', value: '{"q":"q2","a":"no"}', style: 'danger' },
      ),
      contextLine(text('Only '), mention('U0ALICE'), text(' or a project admin may answer')),
    ],
  },
  done: {
    blocks: [
      section(
        emoji('white_check_mark'),
        text(' '),
        bold('billing-api #58'),
        text(' is done — '),
        link('https://github.com/acme/billing-api/pull/77', 'pull request'),
      ),
      { type: 'quote', text: 'Fixed the rounding of tax amounts.\nAdded tests for 0.5 cases.' },
      contextLine(
        ...joined([[text('took 6m 2s')], [text('tokens: 12,000 in / 3,400 out · $0.41')], [text('branch '), code('fix/58')]], ' · '),
      ),
    ],
  },
  failed: {
    blocks: [
      section(emoji('x'), text(' '), bold('billing-api #58'), text(' failed at step 2/3 (run agent)')),
      section(bold('Why:'), text(' npm test exited with code 1: 3 tests failed')),
      contextLine(text('took 2m 3s · the channel is free again')),
      actions(retryButton),
    ],
  },
  cancelled: {
    blocks: [
      section(
        emoji('no_entry_sign'),
        text(' '),
        bold('billing-api #58'),
        text(' was cancelled by '),
        mention('U0BOB'),
        text(' after 1m 12s'),
      ),
      contextLine(text('reason: wrong issue')),
      actions(retryButton),
    ],
  },
  busy: {
    blocks: [
      section(
        text('This channel is busy with '),
        bold('billing-api #57'),
        text(' ('),
        link('https://acme.slack.com/archives/C0123/p1700000000000100', 'thread'),
        text(').'),
      ),
      contextLine(text('Say '), code('cancel'), text(' in its thread to stop it, or try again when it is done.')),
    ],
  },
  help: {
    blocks: [
      section(bold('Switchboard'), text(' starts a coding agent on an issue and keeps you posted in a thread.')),
      section(
        ...joined(
          [
            [code('fix #58 in billing-api'), text(' — start a job for issue 58 of that project')],
            [code('status'), text(" — this channel's job")],
            [code('cancel'), text(' · '), code('stop'), text(' — cancel the job')],
          ],
          '\n• ',
        ),
      ),
      contextLine(text('Say it in '), channel('C0GENERAL'), text(', @mention me, DM me, or use '), code('/switchboard <text>')),
    ],
  },
  list: {
    blocks: [
      { type: 'header', text: 'Jobs you can see' },
      fields(
        { label: 'billing-api #58', value: [text('running · step 2/3 · '), mention('U0ALICE'), text(' in '), channel('C0BILLING')] },
        { label: 'web #12', value: [text('queued · 1st in line · '), mention('U0BOB')] },
      ),
      { type: 'divider' },
      contextLine(text('2 jobs · '), code('status'), text(' for this channel')),
    ],
  },
};

describe('renderMessage: golden files', () => {
  test.each(Object.keys(KINDS))('%s', (kind) => {
    const rendered = renderMessage(KINDS[kind] as Message);
    expect(validateBlocks(rendered.blocks)).toEqual([]);
    expectGolden('unit', `block-kit-${kind}`, rendered);
  });

  test('hostile text: no mention, link, command or fence can be forged', () => {
    const evil = '<!channel> <@U0ADMIN> <https://evil.example|click> &amp; ``` *bold* _it_';
    const msg: Message = {
      blocks: [
        section(text(evil), bold(' *star* '), code('a`b`c <!here>')),
        section(
          mention('U0ALICE> <!channel'),
          text(' '),
          channel('C1|x'),
          text(' '),
          link('javascript:alert(1)', 'js'),
          text(' '),
          link('https://x.example/a|b<c>', 'ok|<b>'),
        ),
        { type: 'code', text: 'log ``` <@U1> &' },
        { type: 'quote', text: '> already quoted\n<!everyone>' },
        contextLine(emoji('not an emoji:'), text('end')),
      ],
    };
    const rendered = renderMessage(msg);
    expect(validateBlocks(rendered.blocks)).toEqual([]);
    const json = JSON.stringify(rendered);
    for (const forged of ['<!channel>', '<!here>', '<@U0ADMIN>', '<https://evil', 'javascript:', '<!everyone>', '<@U1>'])
      expect(json).not.toContain(forged);
    expectGolden('unit', 'block-kit-hostile', rendered);
  });
});

describe('renderMessage: Slack limits', () => {
  const huge = 'x&<'.repeat(20_000);

  test('one very long section is cut below 3,000 characters and says so with …', () => {
    const { blocks } = renderMessage({ blocks: [section(text(huge))] });
    expect(validateBlocks(blocks)).toEqual([]);
    const t = (blocks[0] as { text: { text: string } }).text.text;
    expect(t.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(t.endsWith('…')).toBe(true);
    // No entity is cut in half.
    expect(t.slice(0, -1)).toMatch(/^(?:x&amp;&lt;)*(?:x(?:&amp;)?)?$/);
  });

  test('long log output keeps its end', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    const { blocks } = renderMessage({ blocks: [{ type: 'code', text: lines, keep: 'end' }] });
    const t = (blocks[0] as { text: { text: string } }).text.text;
    expect(t.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(t.startsWith('```…')).toBe(true);
    expect(t.endsWith('line 1999```')).toBe(true);
  });

  test('80 long blocks: at most 50 blocks and ~12,000 characters, the buttons kept, a note added', () => {
    const many: MessageBlock[] = Array.from({ length: 80 }, (_, i) => section(text(`${i} `), text('y'.repeat(1000))));
    const { blocks } = renderMessage({ blocks: [...many, actions(cancelButton)] });
    expect(validateBlocks(blocks)).toEqual([]);
    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(JSON.stringify(blocks).length).toBeLessThan(SLACK_LIMITS.messageText + 3000);
    expect(blocks.at(-2)).toMatchObject({ type: 'actions', elements: [{ action_id: 'job.cancel' }] });
    expect(JSON.stringify(blocks.at(-1))).toContain('shortened');
  });

  test('60 short blocks: cut to 50 in all', () => {
    const { blocks } = renderMessage({ blocks: Array.from({ length: 60 }, (_, i) => section(text(String(i)))) });
    expect(blocks).toHaveLength(SLACK_LIMITS.blocks);
    expect(validateBlocks(blocks)).toEqual([]);
  });

  test('buttons: 30 become 25, long labels, values and dialogs are cut, repeated action ids made unique', () => {
    const buttons: Button[] = Array.from({ length: 30 }, (_, i) => ({
      actionId: 'question.answer',
      label: `choice ${i} ${'z'.repeat(100)}`,
      value: 'v'.repeat(3000),
      confirm: { title: 't'.repeat(200), text: 'x'.repeat(400), confirm: 'c'.repeat(50), deny: 'd'.repeat(50) },
    }));
    const { blocks } = renderMessage({ blocks: [actions(...buttons)] });
    expect(validateBlocks(blocks)).toEqual([]);
    const elements = (
      blocks[0] as { elements: { action_id: string; text: { text: string }; value: string; confirm: Record<string, { text: string }> }[] }
    ).elements;
    expect(elements).toHaveLength(25);
    expect(elements.slice(0, 3).map((e) => e.action_id)).toEqual(['question.answer', 'question.answer:2', 'question.answer:3']);
    expect(new Set(elements.map((e) => e.action_id)).size).toBe(25);
    expect(elements[0]?.text.text.length).toBe(SLACK_LIMITS.buttonText);
    expect(elements[0]?.value.length).toBe(SLACK_LIMITS.buttonValue);
    expect(elements[0]?.confirm.title?.text.length).toBe(SLACK_LIMITS.confirmTitle);
    expect(elements[0]?.confirm.text?.text.length).toBe(SLACK_LIMITS.confirmText);
  });

  test('empty pieces never make an empty text object', () => {
    const { blocks, text: fallback } = renderMessage({
      blocks: [section(text('')), { type: 'context', items: [[], [text('')]] }, actions(), { type: 'header', text: '' }],
    });
    expect(validateBlocks(blocks)).toEqual([]);
    expect(fallback.length).toBeGreaterThan(0);
  });

  test('fields: at most 10, each cut to fit', () => {
    const many = Array.from({ length: 14 }, (_, i) => ({ label: `f${i}`, value: [text('w'.repeat(5000))] }));
    const { blocks } = renderMessage({ blocks: [fields(...many)] });
    expect(validateBlocks(blocks)).toEqual([]);
    expect((blocks[0] as { fields: unknown[] }).fields).toHaveLength(10);
  });
});

describe('fallback text and plain words', () => {
  test('the summary when given, else the first text; escaped like the blocks', () => {
    expect(renderMessage(KINDS.question as Message).text).toBe('The agent asks: Which database should the migration target?');
    expect(renderMessage({ blocks: [{ type: 'divider' }, section(text('a < b'), mention('U0ALICE'))] }).text).toBe('a &lt; b<@U0ALICE>');
  });

  test('renderRichText never exceeds its limit', () => {
    for (const limit of [1, 2, 5, 17, 100]) {
      expect(
        renderRichText([bold('*'.repeat(50)), text('&'.repeat(50)), mention('U0ALICE'), code('`'.repeat(40))], limit).length,
      ).toBeLessThanOrEqual(limit);
    }
  });

  test('plainText has no markup', () => {
    expect(
      plainText([bold('job'), text(' by '), mention('U1'), text(' in '), channel('C1'), text(' '), link('https://x', 'PR'), emoji('x')]),
    ).toBe('job by @U1 in #C1 PR:x:');
  });
});

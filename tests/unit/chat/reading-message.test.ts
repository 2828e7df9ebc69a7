// What free text shows: the reading with Run and Cancel (golden file), and the
// answers to those buttons, within Slack's limits, with nothing a model or a
// user wrote taking effect as markup.
import { replyMessage } from '../../../src/chat/reply-messages.js';
import { renderMessage } from '../../../src/slack/render/block-kit.js';
import type { Reply } from '../../../src/chat/replies.js';
import { ACTIONS } from '../../../src/domain/actions.js';
import { expectGolden } from '../../support/golden.js';
import { validateBlocks } from '../../support/slack-emulator/index.js';

const render = (r: Reply) => {
  const m = replyMessage(r);
  if (!m) throw new Error(`no message for ${r.kind}`);
  return renderMessage(m);
};

test('the reading: what was understood, Run and Cancel carrying its id, and who may press them (golden)', () => {
  const rendered = render({ kind: 'reading', id: 'rd_Abc123', command: 'fix #58 in billing-api', user: 'U0ALICE' });
  expect(validateBlocks(rendered.blocks)).toEqual([]);
  const buttons = JSON.stringify(rendered.blocks);
  expect(buttons).toContain(`"action_id":"${ACTIONS.runReading}"`);
  expect(buttons).toContain(`"action_id":"${ACTIONS.dropReading}"`);
  expect(buttons).toContain('"value":"rd_Abc123"');
  expect(rendered.text).toContain('fix #58 in billing-api');
  expectGolden('unit', 'message-reading', rendered);
});

test.each<Reply>([
  { kind: 'reading-not-yours', requester: 'U0ALICE', command: 'status' },
  { kind: 'reading-gone' },
  { kind: 'reading-dropped', command: 'fix #7' },
])('the answer to a press: %p', (reply) => {
  const rendered = render(reply);
  expect(validateBlocks(rendered.blocks)).toEqual([]);
  expect(rendered.text.length).toBeGreaterThan(0);
});

test('a command is shown as code, so nothing in it becomes a mention or a link', () => {
  const rendered = render({ kind: 'reading', id: 'x', command: 'fix #1 in <!channel> <https://evil.example|x>', user: 'U0ALICE' });
  expect(JSON.stringify(rendered.blocks)).not.toContain('<!channel>');
  expect(JSON.stringify(rendered.blocks)).not.toContain('<https://evil.example|x>');
});

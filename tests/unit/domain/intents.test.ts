import { GRAMMAR, normalizeSlackText, parseIntent, parseIssueUrl, type Intent } from '../../../src/domain/intents.js';

const addressed = { addressed: true };
const channel = { addressed: false };

describe('normalizeSlackText', () => {
  it.each<[string, string, string?]>([
    ['<@U0BOT> fix #58 in billing-api', 'fix #58 in billing-api'],
    ['<@U0BOT|switchboard>: status', 'status'],
    ['<@U0BOT>, <@U0OTHER> status', 'status'],
    ['fix <https://github.com/acme/billing-api/issues/58>', 'fix https://github.com/acme/billing-api/issues/58'],
    ['fix <https://github.com/acme/billing-api/issues/58|acme/billing-api#58>', 'fix https://github.com/acme/billing-api/issues/58'],
    ['see <#C0123ABCD|billing>', 'see #billing'],
    ['see <#C0123ABCD|>', 'see #C0123ABCD'],
    ['<!here> heads up', '@here heads up'],
    ['write to <mailto:a@b.co|a@b.co>', 'write to a@b.co'],
    ['a &lt;b&gt; &amp;&amp; c', 'a <b> && c'],
    ['fix \u201C#58\u201D in \u2018billing-api\u2019', 'fix "#58" in \'billing-api\''],
    ['  fix   #58\n in\tbilling-api  ', 'fix #58 in billing-api'],
    ['status?!', 'status'],
    ['fix #58 in billing-api...', 'fix #58 in billing-api'],
    ['?', '?'],
    ['fix\u00A0#58\u200B', 'fix #58'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeSlackText(input)).toBe(expected);
  });

  it('is idempotent, so callers may normalise before parseIntent', () => {
    for (const raw of [
      '<@U0BOT> fix <https://github.com/acme/billing-api/issues/58|link>!',
      '<@U0BOT> ask <@U0ALICE|alice> about a &lt; b &amp; more',
      '\u201Cfix\u201D   #58 ?',
    ]) {
      const once = normalizeSlackText(raw, 'U0BOT');
      expect(normalizeSlackText(once, 'U0BOT')).toBe(once);
    }
  });

  it("with botUserId strips only the bot's mentions", () => {
    expect(normalizeSlackText('<@U0BOT> ask <@U0ALICE|alice> about it', 'U0BOT')).toBe('ask <@U0ALICE> about it');
  });
});

describe('parseIntent — grammar forms', () => {
  const fix = (issue: number, extra: { project?: string; repo?: string } = {}): Intent => ({ kind: 'fix', issue, ...extra });

  it.each<[string, Intent]>([
    ['fix #58 in billing-api', fix(58, { project: 'billing-api' })],
    ['fix 58 in billing-api', fix(58, { project: 'billing-api' })],
    ['#58 in billing-api', fix(58, { project: 'billing-api' })],
    ['FIX #58 IN Billing-API', fix(58, { project: 'Billing-API' })],
    ['please fix #58 in billing-api', fix(58, { project: 'billing-api' })],
    ['fix #58 in billing-api please', fix(58, { project: 'billing-api' })],
    ['can you fix #58 in billing-api, thanks!', fix(58, { project: 'billing-api' })],
    ['fix issue #58 in billing-api', fix(58, { project: 'billing-api' })],
    ['fix issue 58 in billing-api', fix(58, { project: 'billing-api' })],
    ['fix #58 in the billing-api project', fix(58, { project: 'billing-api' })],
    ['fix #58 in project billing-api', fix(58, { project: 'billing-api' })],
    ['fix #58 in `billing-api`', fix(58, { project: 'billing-api' })],
    ['fix #058 in billing-api', fix(58, { project: 'billing-api' })],
    ['fix #58', fix(58)],
    ['fix 58', fix(58)],
    ['fix #999999999', fix(999999999)],
    ['fix https://github.com/acme/billing-api/issues/58', fix(58, { repo: 'acme/billing-api' })],
    ['fix https://github.com/acme/billing-api/pull/58', fix(58, { repo: 'acme/billing-api' })],
    ['fix https://github.com/acme/billing-api/issues/58#issuecomment-1', fix(58, { repo: 'acme/billing-api' })],
    ['fix https://gitlab.example.com/group/sub/billing-api/-/issues/58', fix(58, { repo: 'group/sub/billing-api' })],
    ['fix https://gitlab.com/acme/billing-api/-/merge_requests/7', fix(7, { repo: 'acme/billing-api' })],
    ['fix acme/billing-api#58', fix(58, { repo: 'acme/billing-api' })],
    ['fix https://github.com/acme/billing-api/issues/58 in billing', fix(58, { repo: 'acme/billing-api', project: 'billing' })],
    ['status', { kind: 'status' }],
    ['Status?', { kind: 'status' }],
    ['cancel', { kind: 'cancel' }],
    ['stop', { kind: 'cancel' }],
    ['cancel the job', { kind: 'cancel' }],
    ['stop it!', { kind: 'cancel' }],
    ['list', { kind: 'list' }],
    ['jobs', { kind: 'list' }],
    ['list jobs', { kind: 'list' }],
    ['projects', { kind: 'projects' }],
    ['show projects', { kind: 'projects' }],
    ['retry', { kind: 'retry' }],
    ['retry please', { kind: 'retry' }],
    ['help', { kind: 'help' }],
    ['HELP!', { kind: 'help' }],
  ])('%j', (text, expected) => {
    expect(parseIntent(text, addressed)).toEqual(expected);
    // Complete forms are commands even when not addressed.
    expect(parseIntent(text, channel)).toEqual(expected);
  });

  it.each<[string, Intent]>([
    ['<@U0BOT> fix #58 in billing-api', { kind: 'fix', issue: 58, project: 'billing-api' }],
    ['<@U0BOT|switchboard>: fix #58 in billing-api!', { kind: 'fix', issue: 58, project: 'billing-api' }],
    ['fix <https://github.com/acme/billing-api/issues/58>', { kind: 'fix', issue: 58, repo: 'acme/billing-api' }],
    ['fix <https://github.com/acme/billing-api/issues/58|acme/billing-api#58>.', { kind: 'fix', issue: 58, repo: 'acme/billing-api' }],
    ['fix \u201C#58\u201D in \u201Cbilling-api\u201D', { kind: 'fix', issue: 58, project: 'billing-api' }],
    ['fix #58 in billing-api!', { kind: 'fix', issue: 58, project: 'billing-api' }],
    ['<@U0BOT> status', { kind: 'status' }],
    ['<@U0BOT>', { kind: 'help' }],
    ['<@U0BOT> ?', { kind: 'help' }],
  ])('Slack formatting: %j', (text, expected) => {
    expect(parseIntent(text, addressed)).toEqual(expected);
  });

  it("a mention of the bot's own ID makes a message addressed", () => {
    expect(parseIntent('<@U0BOT> fix the flaky build', { addressed: false, botUserId: 'U0BOT' })).toMatchObject({
      kind: 'unknown',
      text: 'fix the flaky build',
    });
    expect(parseIntent('<@U0ALICE> fix the flaky build', { addressed: false, botUserId: 'U0BOT' })).toEqual({ kind: 'ignore' });
  });
});

describe('parseIntent — ignore vs unknown', () => {
  it.each([
    'I will fix the build later',
    'fix the build',
    'fix #58 on monday',
    'status of the deploy is green',
    'stop doing that',
    '?',
    '#58',
    '58 in billing-api',
    'https://github.com/acme/billing-api/issues/58',
    'help me with this',
    'fix #0',
    '',
    '   ',
  ])('unaddressed %j is ignored', (text) => {
    expect(parseIntent(text, channel)).toEqual({ kind: 'ignore' });
  });

  it.each([
    ['fix the build', true],
    ['fix #0', true],
    ['fix #1000000000', true],
    ['fix #58 in billing api', true],
    ['fix https://github.com/acme/billing-api', true],
    ['what is going on with billing', false],
    ['help me with this', false],
    ['#58', false],
  ])('addressed %j is unknown (hint: %s)', (text, hasHint) => {
    const intent = parseIntent(text, addressed);
    expect(intent).toMatchObject({ kind: 'unknown', text });
    expect(intent.kind === 'unknown' && intent.hint !== undefined).toBe(hasHint);
  });

  it('the unknown text is the normalised message, for the inference route', () => {
    expect(parseIntent('<@U0BOT> can you look at <https://example.com/x|this>?', addressed)).toEqual({
      kind: 'unknown',
      text: 'can you look at https://example.com/x',
    });
  });

  it('rejects issue numbers outside 1 … 10^9-1 with a hint', () => {
    for (const text of ['fix #0', 'fix #1000000000', 'fix #0 in billing-api', 'fix acme/x#0']) {
      const intent = parseIntent(text, addressed);
      expect(intent.kind).toBe('unknown');
      if (intent.kind === 'unknown') expect(intent.hint).toMatch(/whole numbers from 1/);
    }
  });
});

describe('parseIssueUrl', () => {
  it.each([
    ['https://github.com/acme/billing-api/issues/58', { repo: 'acme/billing-api', issue: 58 }],
    ['http://github.example/acme/billing-api/pulls/9/files', { repo: 'acme/billing-api', issue: 9 }],
    ['https://github.com/acme/billing-api', undefined],
    ['https://github.com/billing-api/issues/58', undefined],
    ['ftp://github.com/acme/billing-api/issues/58', undefined],
    ['not a url', undefined],
  ])('%s', (url, expected) => {
    expect(parseIssueUrl(url)).toEqual(expected);
  });
});

describe('GRAMMAR', () => {
  it('follows the DESIGN §2 table', () => {
    const examples = GRAMMAR.flatMap((g) => g.examples);
    for (const e of [
      'fix #58 in billing-api',
      'fix 58 in billing-api',
      '#58 in billing-api',
      'fix #58',
      'fix https://github.com/acme/billing-api/issues/58',
      'fix acme/billing-api#58',
      'status',
      'cancel',
      'stop',
      'list',
      'jobs',
      'projects',
      'retry',
      'help',
    ]) {
      expect(examples).toContain(e);
    }
  });

  it('every example parses to a command (the parser and help share the table)', () => {
    const parsed = GRAMMAR.flatMap((g) => g.examples.map((e) => [e, parseIntent(e, addressed).kind]));
    expect(parsed.filter(([, kind]) => kind === 'unknown' || kind === 'ignore')).toEqual([]);
  });

  it('examples in one row all mean the same kind of thing', () => {
    for (const g of GRAMMAR) {
      const shapes = new Set(
        g.examples.map((e) => {
          const i = parseIntent(e, addressed);
          return i.kind === 'fix' ? `fix:${'project' in i}:${'repo' in i}` : i.kind;
        }),
      );
      expect([g.examples, shapes.size]).toEqual([g.examples, 1]);
    }
  });
});

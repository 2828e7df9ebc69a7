import { EVENT_SCHEMA_VERSION, isTerminal, parseAgentEvent, parseControlMessage, type AgentEvent } from '../../../src/domain/events.js';

const envelope = { v: EVENT_SCHEMA_VERSION, jobId: 'a1b2c3', seq: 0, ts: 1_700_000_000_000 };

/** One valid example of every event type in DESIGN §5. */
const VALID: Record<AgentEvent['type'], Record<string, unknown>> = {
  started: { ...envelope, type: 'started', project: 'billing-api', ref: '58', image: 'switchboard-agent:1', host: 'box-1' },
  progress: { ...envelope, type: 'progress', step: 2, total: 5, name: 'run tests', text: 'npm test' },
  log: { ...envelope, type: 'log', text: 'compiling…', level: 'info' },
  question: {
    ...envelope,
    type: 'question',
    questionId: 'q1',
    text: 'Open a PR?',
    kind: 'choice',
    choices: ['yes', 'no'],
    default: 'yes',
    timeoutSeconds: 300,
  },
  usage: { ...envelope, type: 'usage', model: 'claude', promptTokens: 1200, completionTokens: 300, costUsd: 0.04 },
  waiting: { ...envelope, type: 'waiting', for: 'gpu', position: 3 },
  done: {
    ...envelope,
    type: 'done',
    summary: 'Fixed the rounding',
    prUrl: 'https://github.com/acme/x/pull/7',
    branch: 'fix-58',
    commit: 'abc123',
  },
  failed: { ...envelope, type: 'failed', reason: 'tests failed', step: 3, name: 'test', retryable: false },
};

const errorOf = (raw: string | undefined): string => {
  const parsed = parseAgentEvent(raw);
  if (parsed.ok) throw new Error(`expected a rejection, got ${JSON.stringify(parsed.event)}`);
  return parsed.error;
};

describe('parseAgentEvent', () => {
  test.each(Object.entries(VALID))('accepts a valid %s event with all its fields', (type, doc) => {
    const parsed = parseAgentEvent(JSON.stringify(doc));
    expect(parsed).toEqual({ ok: true, event: doc });
    expect(parsed.ok && parsed.event.type).toBe(type);
  });

  test('accepts events without their optional fields', () => {
    const minimal = [
      { ...envelope, type: 'progress', step: 1, total: 1, name: 'clone' },
      { ...envelope, type: 'question', questionId: 'q', text: 'ok?', kind: 'confirm', timeoutSeconds: 60 },
      { ...envelope, type: 'usage', model: 'm', promptTokens: 0, completionTokens: 0 },
      { ...envelope, type: 'done', summary: '' },
      { ...envelope, type: 'failed', reason: 'boom', retryable: true },
    ];
    for (const doc of minimal) expect(parseAgentEvent(JSON.stringify(doc))).toEqual({ ok: true, event: doc });
  });

  test('a stream entry without the field "e" is reported', () => {
    expect(errorOf(undefined)).toMatch(/no field "e"/);
  });

  test.each(['', '{', 'not json', '{"v":1,', "{'v':1}"])('malformed JSON %p is reported, not thrown', (raw) => {
    expect(errorOf(raw)).toMatch(/not JSON/);
  });

  test.each([0, 2, '1', null])('an unknown schema version v=%p is reported as such', (v) => {
    expect(errorOf(JSON.stringify({ ...VALID.log, v }))).toMatch(/unknown schema version/);
  });

  test('a missing version is rejected', () => {
    const { v: _v, ...rest } = VALID.log;
    expect(errorOf(JSON.stringify(rest))).toMatch(/v/);
  });

  test('an unknown event type is rejected', () => {
    expect(errorOf(JSON.stringify({ ...envelope, type: 'exploded', text: 'x' }))).toMatch(/type/);
  });

  test.each([
    ['seq as a string', { ...VALID.log, seq: '3' }, 'seq'],
    ['a negative seq', { ...VALID.log, seq: -1 }, 'seq'],
    ['a fractional ts', { ...VALID.log, ts: 1.5 }, 'ts'],
    ['an empty jobId', { ...VALID.log, jobId: '' }, 'jobId'],
    ['a numeric log text', { ...VALID.log, text: 42 }, 'text'],
    ['an unknown log level', { ...VALID.log, level: 'fatal' }, 'level'],
    ['step 0', { ...VALID.progress, step: 0 }, 'step'],
    ['total as a string', { ...VALID.progress, total: '5' }, 'total'],
    ['an unknown question kind', { ...VALID.question, kind: 'essay' }, 'kind'],
    ['choices that are not strings', { ...VALID.question, choices: [1, 2] }, 'choices'],
    ['negative tokens', { ...VALID.usage, promptTokens: -5 }, 'promptTokens'],
    ['a string cost', { ...VALID.usage, costUsd: '0.1' }, 'costUsd'],
    ['retryable as a string', { ...VALID.failed, retryable: 'yes' }, 'retryable'],
    ['a missing summary', { ...envelope, type: 'done' }, 'summary'],
    ['a missing reason', { ...envelope, type: 'failed', retryable: false }, 'reason'],
    ['a missing host', { ...envelope, type: 'started', project: 'p', ref: '1', image: 'i' }, 'host'],
  ])('rejects %s and names the field', (_what, doc, field) => {
    expect(errorOf(JSON.stringify(doc))).toContain(field);
  });

  test.each(['null', '42', '"started"', '[]', 'true', '{}', '{"v":1}'])('a JSON document that is not an event (%s) is rejected', (raw) => {
    expect(parseAgentEvent(raw).ok).toBe(false);
  });

  test('never throws, whatever it is given', () => {
    const evil = [
      '{"__proto__":{"polluted":true},"v":1}',
      JSON.stringify({ ...VALID.log, text: 'x'.repeat(200_000) }).slice(0, 100_000),
      '\u0000\uffff',
      'a'.repeat(10_000),
      '1e999',
    ];
    for (const raw of evil) expect(() => parseAgentEvent(raw)).not.toThrow();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('a version that cannot be turned into a string is reported, not thrown', () => {
    // JSON can spell an object whose toString is not a function; String(v) throws on it.
    const raw = '{"v":{"toString":1},"type":"log","jobId":"j","seq":0,"ts":1,"text":"x","level":"info"}';
    let parsed: ReturnType<typeof parseAgentEvent> | undefined;
    expect(() => (parsed = parseAgentEvent(raw))).not.toThrow();
    expect(parsed).toMatchObject({ ok: false, error: expect.stringMatching(/unknown schema version/) });
  });
});

describe('isTerminal', () => {
  test('only done and failed end a job', () => {
    const terminal = Object.values(VALID)
      .map((doc) => parseAgentEvent(JSON.stringify(doc)))
      .filter((p): p is { ok: true; event: AgentEvent } => p.ok)
      .filter((p) => isTerminal(p.event))
      .map((p) => p.event.type);
    expect(terminal.sort()).toEqual(['done', 'failed']);
  });
});

describe('parseControlMessage', () => {
  test('reads an answer', () => {
    const msg = { type: 'answer', questionId: 'q1', answer: 'yes', by: 'U0123ABCD' };
    expect(parseControlMessage(JSON.stringify(msg))).toEqual(msg);
  });

  test('reads a cancel', () => {
    const msg = { type: 'cancel', by: 'U0123ABCD', reason: 'wrong issue' };
    expect(parseControlMessage(JSON.stringify(msg))).toEqual(msg);
  });

  test('reads a thread follow-up (message)', () => {
    const msg = { type: 'message', text: 'use the v2 API', by: 'U0123ABCD' };
    expect(parseControlMessage(JSON.stringify(msg))).toEqual(msg);
  });

  test.each([
    ['nothing', undefined],
    ['a message without text', JSON.stringify({ type: 'message', by: 'U1' })],
    ['bad JSON', '{"type":'],
    ['an unknown type', JSON.stringify({ type: 'pause', by: 'U1' })],
    ['an answer without questionId', JSON.stringify({ type: 'answer', answer: 'y', by: 'U1' })],
    ['a cancel with a numeric reason', JSON.stringify({ type: 'cancel', by: 'U1', reason: 3 })],
    ['null', 'null'],
  ])('ignores %s without throwing', (_what, raw) => {
    expect(parseControlMessage(raw)).toBeUndefined();
  });
});

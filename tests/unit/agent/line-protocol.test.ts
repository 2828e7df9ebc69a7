import { parseProtocolLine, stdinLineFor } from '../../../src/agent/line-protocol.js';

const line = (doc: unknown) => `::switchboard:: ${JSON.stringify(doc)}`;

describe('parseProtocolLine', () => {
  test('ordinary output is text, also when the prefix is only inside it', () => {
    expect(parseProtocolLine('compiling…')).toEqual({ kind: 'text' });
    expect(parseProtocolLine('see ::switchboard:: {"type":"done"}')).toEqual({ kind: 'text' });
    expect(parseProtocolLine('')).toEqual({ kind: 'text' });
  });

  test('progress, question and usage are events, checked with the shared schema', () => {
    expect(parseProtocolLine(line({ type: 'progress', step: 1, total: 3, name: 'plan' }))).toEqual({
      kind: 'event',
      body: { type: 'progress', step: 1, total: 3, name: 'plan' },
    });
    const question = {
      type: 'question',
      questionId: 'q1',
      text: 'Which?',
      kind: 'choice',
      choices: ['a', 'b'],
      default: 'a',
      timeoutSeconds: 30,
    };
    expect(parseProtocolLine(`  ${line(question)}  `)).toEqual({ kind: 'event', body: question });
    expect(parseProtocolLine(line({ type: 'usage', model: 'm', promptTokens: 1, completionTokens: 2, costUsd: 0.01 }))).toMatchObject({
      kind: 'event',
    });
  });

  test('done and failed are the verdict', () => {
    expect(parseProtocolLine(line({ type: 'done', summary: 'ok', prUrl: 'https://x/pull/1' }))).toEqual({
      kind: 'verdict',
      body: { type: 'done', summary: 'ok', prUrl: 'https://x/pull/1' },
    });
    expect(parseProtocolLine(line({ type: 'failed', reason: 'no', retryable: false }))).toMatchObject({
      kind: 'verdict',
      body: { type: 'failed' },
    });
  });

  test('envelope fields from the command are ignored (the runner stamps its own), v=1 is accepted', () => {
    expect(parseProtocolLine(line({ v: 1, jobId: 'other', seq: 99, ts: 5, type: 'done', summary: 'ok' }))).toEqual({
      kind: 'verdict',
      body: { type: 'done', summary: 'ok' },
    });
  });

  test.each([
    ['::switchboard:: {not json', 'not JSON'],
    ['::switchboard::', 'not JSON'],
    ['::switchboard:: [1,2]', 'not a JSON object'],
    ['::switchboard:: null', 'not a JSON object'],
    [line({ v: 2, type: 'done', summary: 'x' }), 'unknown schema version v=2'],
    [
      line({ type: 'started', project: 'p', ref: 'r', image: 'i', host: 'h' }),
      'type must be one of progress, question, usage, done, failed',
    ],
    [line({ type: 'log', text: 'x', level: 'info' }), 'type must be one of'],
    [line({ summary: 'no type' }), 'got none'],
    [line({ type: 'progress', step: 0, total: 3, name: 'x' }), 'step'],
    [line({ type: 'question', questionId: 'q', text: 't', kind: 'poll', timeoutSeconds: 5 }), 'kind'],
    [line({ type: 'failed', reason: 'r' }), 'retryable'],
  ])('%s is invalid: %s', (input, why) => {
    const parsed = parseProtocolLine(input);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.error).toContain(why);
  });
});

describe('stdinLineFor', () => {
  test('answers and follow-ups are one JSON line each, without who sent them', () => {
    expect(stdinLineFor({ type: 'answer', questionId: 'q1', answer: 'yes', by: 'U1' })).toBe(
      '{"type":"answer","questionId":"q1","answer":"yes"}\n',
    );
    expect(stdinLineFor({ type: 'message', text: 'two\nlines', by: 'U1' })).toBe('{"type":"message","text":"two\\nlines"}\n');
  });

  test('cancel is not for the command', () => {
    expect(stdinLineFor({ type: 'cancel', by: 'U1', reason: '' })).toBeUndefined();
  });
});

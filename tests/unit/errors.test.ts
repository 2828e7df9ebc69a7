import { Writable } from 'node:stream';
import { ConfigError, ErrorCode, isCodedError, SwitchboardError, UserFacingError, userTextOf } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { BodyTooLarge } from '../../src/web/http.js';
import { PathRefused } from '../../src/agent/builtin/workspace-paths.js';
import { RunnerUsageError } from '../../src/agent/runner-options.js';
import { NoEndpointError } from '../../src/inference/slot-queue.js';
import { InferenceUnavailableError } from '../../src/inference/router.js';
import { ProviderError } from '../../src/inference/provider.js';
import { TrackerError } from '../../src/trackers/tracker.js';

const imageMissing = () =>
  new SwitchboardError(
    ErrorCode.AgentImageMissing,
    'agent image x:1 is not on the Docker engine: build it (docker build --target agent -t x:1 .)',
    {
      userText: 'the agent image is not installed on this Switchboard',
      operatorHint: 'docker build --target agent -t x:1 .',
      cause: new Error('(HTTP code 404) no such image'),
    },
  );

describe('coded errors', () => {
  it('keep the user text and the operator hint apart', () => {
    const err = imageMissing();
    expect(err.code).toBe('AGENT_IMAGE_MISSING');
    expect(isCodedError(err)).toBe(true);
    expect(userTextOf(err, 'internal error')).toBe('the agent image is not installed on this Switchboard');
    expect(userTextOf(err, 'internal error')).not.toContain('docker build');
  });

  it('never hand an uncoded error’s message to the user', () => {
    expect(userTextOf(new Error('connect ECONNREFUSED 10.0.0.5:6379 redis://:pw@…'), 'internal error, ref `abc`')).toBe(
      'internal error, ref `abc`',
    );
    expect(userTextOf(new SwitchboardError(ErrorCode.AgentStartFailed, 'operator detail'), 'fallback')).toBe('fallback');
    expect(userTextOf('a string', 'fallback')).toBe('fallback');
  });

  it('UserFacingError text is its user text; ConfigError keeps its code and problems', () => {
    const refusal = new UserFacingError(ErrorCode.ChatNotInChannel, 'invite me first');
    expect(refusal.userText).toBe('invite me first');
    expect(refusal).toBeInstanceOf(SwitchboardError);
    const config = new ConfigError('environment', ['PORT: bad — fix it']);
    expect(config.code).toBe(ErrorCode.ConfigInvalid);
    expect(config.userText).toBeUndefined();
  });

  it('logged as { err }, keep stack, cause, code and operator hint', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    createLogger('info', sink).error({ err: imageMissing() }, 'could not start the agent');
    const logged = JSON.parse(lines[0] ?? '{}') as { err: Record<string, unknown> };
    expect(logged.err.code).toBe('AGENT_IMAGE_MISSING');
    expect(logged.err.operatorHint).toBe('docker build --target agent -t x:1 .');
    expect(String(logged.err.stack)).toMatch(/at /);
    expect(JSON.stringify(logged.err)).toContain('no such image');
  });
});

describe('the logger', () => {
  test('strips credentials from every URL in a line, in fields, messages and error causes', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const url = 'https://oauth2:ghp_TOKENvalue123@github.com/acme/demo.git';
    const err = new Error(`git clone of ${url} failed`, { cause: new Error(`fetch ${url}`) });
    createLogger('info', sink).error({ err, reason: `git clone of ${url} failed` }, `job failed: ${url}`);
    expect(lines.join('')).not.toContain('ghp_TOKENvalue123');
    expect(lines.join('')).toContain('https://github.com/acme/demo.git');
    expect(() => JSON.parse(lines[0] ?? '')).not.toThrow();
  });
});

describe('every error class has a code', () => {
  it('the exported error classes are coded errors, each with its own code', () => {
    const errors = [
      new BodyTooLarge('request body over 16 bytes'),
      new PathRefused('../etc', 'outside the workspace'),
      new RunnerUsageError('--job-id is missing'),
      new NoEndpointError(),
      new InferenceUnavailableError('no GPU', 503),
      new ProviderError('busy', 'the endpoint is busy', 503),
      new TrackerError('not-found', 'issue #58 not found', { status: 404 }),
    ];
    for (const err of errors) expect(isCodedError(err)).toBe(true);
    expect(new Set(errors.map((e) => (e as { code: string }).code)).size).toBe(errors.length);
    // A code that is not in the enum is not a coded error (Node's own codes, say).
    expect(isCodedError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(false);
  });
});

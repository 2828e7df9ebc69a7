// The rules that keep a lost Docker `wait` from passing for an agent's exit
// (issue 11): a table of what the engine said, and the follower driven by a
// scripted engine (answers in order; no clock is asserted on).
import {
  exitVerdict,
  followExit,
  type ContainerLook,
  type ExitProbe,
  type WaitAnswer,
  type WaitCondition,
} from '../../../../src/spawners/docker/container-exit.js';
import { silentLogger } from '../../../../src/observability/logger.js';

const running: ContainerLook = { status: 'running', running: true, exitCode: 0 };
const exited = (code: number, oomKilled = false): ContainerLook => ({ status: 'exited', running: false, exitCode: code, oomKilled });

describe('exitVerdict', () => {
  test.each<[string, ContainerLook, WaitAnswer | undefined, ReturnType<typeof exitVerdict>]>([
    ['a wait that saw the exit, container removed', 'gone', { StatusCode: 3 }, { exitCode: 3, detail: undefined }],
    ['a wait that saw the exit, container not yet removed', exited(3), { StatusCode: 3 }, { exitCode: 3, detail: undefined }],
    [
      'the daemon cancelled the wait (-1) but the container runs',
      running,
      { StatusCode: -1, Error: { Message: 'context canceled' } },
      { waitAgain: 'not-running' },
    ],
    [
      'the daemon cancelled the wait (-1), container exited meanwhile',
      exited(0),
      { StatusCode: -1, Error: { Message: 'context canceled' } },
      { exitCode: 0, detail: undefined },
    ],
    [
      'the daemon cancelled the wait (-1), container removed',
      'gone',
      { StatusCode: -1 },
      { exitCode: null, detail: expect.stringContaining('exit code is unknown') },
    ],
    ['no answer (lost connection), container runs', running, undefined, { waitAgain: 'not-running' }],
    [
      'no answer, container created but not yet started',
      { status: 'created', running: false, exitCode: 0 },
      undefined,
      { waitAgain: 'next-exit' },
    ],
    ['no answer, container paused', { status: 'paused', running: true, exitCode: 0 }, undefined, { waitAgain: 'not-running' }],
    [
      'no answer, container exited with 137',
      exited(137),
      undefined,
      { exitCode: 137, detail: expect.stringMatching(/^it was killed by SIGKILL/) },
    ],
    ['a wait that saw 143, container removed', 'gone', { StatusCode: 143 }, { exitCode: 143, detail: 'it was terminated by SIGTERM' }],
    [
      'killed for memory, not yet removed',
      exited(137, true),
      { StatusCode: 137 },
      { exitCode: 137, detail: expect.stringContaining('ran out of memory (OOMKilled)') },
    ],
    [
      'no answer, container gone',
      'gone',
      undefined,
      { exitCode: null, detail: expect.stringContaining('removed while the engine could not be asked') },
    ],
  ])('%s', (_name, look, answer, verdict) => {
    expect(exitVerdict(look, answer)).toEqual(verdict);
  });
});

/** An engine that answers each call from a script; a step may throw (the engine is away) or hang. */
class ScriptedEngine implements ExitProbe {
  readonly waits: WaitCondition[] = [];
  inspects = 0;
  constructor(
    private readonly waitScript: (() => Promise<WaitAnswer>)[],
    private readonly inspectScript: (() => ContainerLook)[],
  ) {}
  wait(condition: WaitCondition, signal: AbortSignal): Promise<WaitAnswer> {
    this.waits.push(condition);
    const next = this.waitScript.shift() ?? hang;
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      next().then(resolve, reject);
    });
  }
  async inspect(): Promise<ContainerLook> {
    this.inspects++;
    const next = this.inspectScript.shift();
    if (!next) throw new Error('inspect script exhausted');
    return next();
  }
}
const hang = () => new Promise<WaitAnswer>(() => undefined);
const refused = () => {
  throw Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
};
const fast = { checkEveryMs: 60_000, backoff: { firstMs: 1, maxMs: 2 }, log: silentLogger };

test('a wait lost while the engine is away is re-attached once the engine answers, and the real exit is reported', async () => {
  const engine = new ScriptedEngine(
    [() => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), () => Promise.resolve({ StatusCode: 0 })],
    [refused, refused, refused, () => running, () => 'gone'],
  );
  const exit = await followExit(engine, { ...fast, condition: 'next-exit', signal: new AbortController().signal });
  expect(exit).toEqual({ exitCode: 0, detail: undefined });
  // Asked three times in vain, once to see it run, once after the second wait to believe it.
  expect(engine.inspects).toBe(5);
  expect(engine.waits).toEqual(['next-exit', 'not-running']);
});

test('a daemon that ends the wait with -1 while the agent runs does not end the job', async () => {
  const engine = new ScriptedEngine(
    [() => Promise.resolve({ StatusCode: -1, Error: { Message: 'context canceled' } }), () => Promise.resolve({ StatusCode: 137 })],
    [() => running, () => exited(137)],
  );
  const exit = await followExit(engine, { ...fast, condition: 'not-running', signal: new AbortController().signal });
  expect(exit).toMatchObject({ exitCode: 137 });
  expect(engine.waits).toEqual(['not-running', 'not-running']);
});

test('a wait that went silent is overtaken by the periodic look once the container has ended', async () => {
  const engine = new ScriptedEngine([hang], [() => running, () => running, () => exited(2)]);
  const exit = await followExit(engine, { ...fast, checkEveryMs: 1, condition: 'not-running', signal: new AbortController().signal });
  expect(exit).toEqual({ exitCode: 2, detail: undefined });
  expect(engine.waits).toEqual(['not-running']);
});

test('a periodic look that fails re-issues the wait once the engine answers', async () => {
  const engine = new ScriptedEngine([hang, () => Promise.resolve({ StatusCode: 5 })], [refused, () => running, () => 'gone']);
  const exit = await followExit(engine, { ...fast, checkEveryMs: 1, condition: 'not-running', signal: new AbortController().signal });
  expect(exit).toEqual({ exitCode: 5, detail: undefined });
  expect(engine.waits).toEqual(['not-running', 'not-running']);
});

test('once following stops, no exit is ever reported, even though the engine never answered', async () => {
  const stop = new AbortController();
  let asked = 0;
  const engine: ExitProbe = {
    wait: () => Promise.reject(new Error('socket hang up')),
    inspect: async () => {
      if (++asked === 3) stop.abort();
      return refused();
    },
  };
  const outcome = await Promise.race([
    followExit(engine, { ...fast, condition: 'not-running', signal: stop.signal }).then(() => 'exited'),
    new Promise((resolve) => stop.signal.addEventListener('abort', () => setTimeout(() => resolve('still pending'), 20))),
  ]);
  expect(outcome).toBe('still pending');
  expect(asked).toBe(3);
});

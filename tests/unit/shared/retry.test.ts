// retryWhileUnreachable: tries again with back-off while the peer does not
// answer, says the outage and its end once each, throws refusals at once, and
// gives up when its budget is spent or its owner closes.
import { retryWhileUnreachable } from '../../../src/shared/retry.js';
import { LogTap } from '../../support/log-tap.js';

const noAnswer = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const backoff = { firstMs: 1, maxMs: 4 };

test('an outage of several tries is said once, and its end once', async () => {
  const { logger: log, lines } = new LogTap();
  let tries = 0;
  const result = await retryWhileUnreachable(
    async () => {
      if (++tries < 5) throw noAnswer();
      return 'answered';
    },
    { peer: 'the Docker engine', what: 'start the agent', log, backoff, budgetMs: 5_000 },
  );
  expect(result).toBe('answered');
  expect(tries).toBe(5);
  expect(lines.map((l) => l.msg)).toEqual([
    'the Docker engine does not answer: will try to start the agent again with back-off',
    'the Docker engine answers again: could start the agent',
  ]);
});

test('a refusal is an answer: thrown at once, not retried', async () => {
  const { logger: log, lines } = new LogTap();
  let tries = 0;
  const refused = new Error('409 conflict');
  await expect(
    retryWhileUnreachable(
      async () => {
        tries++;
        throw refused;
      },
      { peer: 'the Kubernetes API', what: 'start the agent', log, backoff, isUnreachable: (e) => e !== refused },
    ),
  ).rejects.toBe(refused);
  expect(tries).toBe(1);
  expect(lines).toEqual([]);
});

test('a spent budget gives up with the giveUp error, naming how long it tried', async () => {
  const { logger: log } = new LogTap();
  await expect(
    retryWhileUnreachable(
      async () => {
        throw noAnswer();
      },
      {
        peer: 'the Docker engine',
        what: 'stop the agent',
        log,
        backoff,
        budgetMs: 30,
        giveUp: (err, waited) => new Error(`gave up after ${waited} ms: ${(err as Error).message}`),
      },
    ),
  ).rejects.toThrow(/^gave up after \d+ ms: connect ECONNREFUSED$/);
});

test('without a budget it asks until it gets an answer or its owner closes', async () => {
  const { logger: log, lines } = new LogTap();
  const closing = new AbortController();
  let tries = 0;
  const asking = retryWhileUnreachable(
    async () => {
      if (++tries === 3) closing.abort();
      throw noAnswer();
    },
    { peer: 'the Docker engine', log, backoff, signal: closing.signal },
  );
  await expect(asking).rejects.toThrow('connect ECONNREFUSED');
  expect(tries).toBe(3);
  expect(lines.map((l) => l.msg)).toEqual(['the Docker engine does not answer: asking again with back-off until it does']);
});

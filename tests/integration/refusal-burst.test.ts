// Bursts of refusals across replicas: each replica has its own Redis
// connection, as separate processes would; the count is shared.
import { Redis } from 'ioredis';
import { keys as keysFor } from '../../src/domain/keys.js';
import { RefusalBursts } from '../../src/state/refusal-burst.js';
import { replyMessage } from '../../src/chat/reply-messages.js';
import { plainText } from '../../src/domain/message.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { aJob } from '../support/jobs.js';

let connections: Redis[];
let prefix: string;

beforeEach(() => {
  prefix = uniquePrefix();
  connections = [0, 1, 2].map(() => new Redis(redisUrl()));
});
afterEach(async () => {
  await deleteKeys(connections[0] as Redis, `${prefix}*`);
  await Promise.all(connections.map((c) => c.quit()));
});

const replicas = () => connections.map((c) => new RefusalBursts(c, keysFor(prefix).refusalBurst, { quietMs: 150, maxMs: 5000 }));

test('300 refusals in one channel over three replicas: one leads, and learns that 299 more were refused', async () => {
  const bursts = replicas();
  const places = await Promise.all(Array.from({ length: 300 }, (_, i) => (bursts[i % 3] as RefusalBursts).join('C0BUSY')));
  const leaders = places.filter((p) => p.leader);
  expect(leaders).toHaveLength(1);
  const lead = leaders[0];
  expect(await (lead?.leader ? lead.lead.othersRefused() : Promise.resolve(-1))).toBe(299);
  // Over: the next refusal leads a burst of its own; other channels never shared this one.
  expect((await (bursts[1] as RefusalBursts).join('C0BUSY')).leader).toBe(true);
  expect((await (bursts[2] as RefusalBursts).join('C0OTHER')).leader).toBe(true);
});

test('refusals that keep coming extend the burst; its answer counts all of them', async () => {
  const [a, b] = replicas() as [RefusalBursts, RefusalBursts];
  const first = await a.join('C0BUSY');
  if (!first.leader) throw new Error('the first refusal leads');
  const counted = first.lead.othersRefused();
  // Joins spaced below the quiet time keep the burst open.
  for (let i = 0; i < 5; i += 1) {
    expect((await b.join('C0BUSY')).leader).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await counted).toBe(5);
});

test('a lone refusal leads and nobody else was refused', async () => {
  const [a] = replicas() as [RefusalBursts];
  const place = await a.join('C0BUSY');
  expect(place.leader && (await place.lead.othersRefused())).toBe(0);
});

test('the first answer, edited: "(and 998 more asked)"; later refusals of the burst are not answered', () => {
  const edited = replyMessage({ kind: 'busy', running: aJob({ project: 'demo', issue: 1 }), alsoAsked: 998 });
  expect(plainText(edited?.summary ?? [])).toBe('This channel is busy with another job. (and 998 more asked)');
  const first = edited?.blocks[0];
  expect(first?.type === 'section' && plainText(first.text ?? [])).toContain(': one job per channel at a time. (and 998 more asked)');
  expect(replyMessage({ kind: 'busy', quiet: true })).toBeUndefined();
});

// Drill 5: Redis restarts mid-job (a clean restart; the AOF keeps the data,
// as in the compose file). The agent buffers its events while Redis is away,
// the dispatcher re-creates the job's Redis user when it is back, and the job
// is reported once, as if nothing happened. Real time, no scaling.
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { expectAftermath, watchAgentStarts, tickerCatalogue } from './support/drill.js';
import { ownRedis, type OwnRedis } from './support/own-redis.js';

jest.setTimeout(90_000);

const projects = tickerCatalogue({ ticks: 12, everySeconds: 0.5, pr: 5 });

let redis: OwnRedis;
let h: Harness;
let admin: Redis;

beforeAll(async () => {
  redis = await ownRedis();
  admin = new Redis(redis.url, { retryStrategy: () => 100, maxRetriesPerRequest: null });
  h = await startHarness({ mode: 'socket', projectsYaml: projects, redis: { url: redis.url, agentUrl: redis.agentUrl } });
});
afterAll(async () => {
  if (!redis.running()) await redis.start();
  await h?.stop();
  admin?.disconnect();
  await redis?.remove();
});

test('drill 5: Redis restarted mid-job → the job goes on and is reported once; the dispatcher is ready and serving after', async () => {
  const starts = await watchAgentStarts(h.docker);
  try {
    await h.emu.userSays({ channel: 'C0DRILL5', user: 'U0ALICE', text: 'fix #5 in ticker' });
    const container = await eventually(
      async () => (await h.containers('C0DRILL5')).find((c) => c.State === 'running'),
      'the ticker agent running',
    );
    const events = `${h.prefix}job:${container.Labels['switchboard.job-id'] ?? ''}:events`;
    await eventually(async () => (await admin.xlen(events)) >= 3, 'the agent’s first events');

    await redis.stop();
    await redis.start();

    // The agent carried on through the restart: its ticks after it and its result are in the stream.
    await expectAftermath(h, { starts, told: /^ticker #5 is done/, replicaPorts: [h.dispatcher?.port ?? 0] });
    const types = (await admin.xrange(events, '-', '+')).map(([, f]) => (JSON.parse(f[1] ?? '{}') as { type: string }).type);
    expect(types.filter((t) => t === 'done')).toHaveLength(1);
  } finally {
    await starts.stop();
  }
});

// Drill 6: Redis unreachable for 20 s, for the dispatcher AND the agent,
// through TCP proxies that stop forwarding (a partition: connections stay
// open and nothing answers; the proxy drops them when it is over). The agent
// buffers its events, the dispatcher decides nothing about an unreadable
// heartbeat, people who ask meanwhile are told to try again in a minute, and
// the job is reported once afterwards. Real time, no scaling.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually, sleep } from '../support/eventually.js';
import { agentNetworkGateway } from '../support/agent-network.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { expectAftermath, watchAgentStarts, tickerCatalogue } from './support/drill.js';
import { ownRedis, type OwnRedis } from './support/own-redis.js';

jest.setTimeout(120_000);

const PARTITION_MS = 20_000;

// The ticker outlasts the partition: about 32 s of work.
const projects = tickerCatalogue({ ticks: 32, everySeconds: 1, pr: 6 });

let redis: OwnRedis;
let forDispatcher: TcpProxy;
let forAgents: TcpProxy;
let h: Harness;

beforeAll(async () => {
  redis = await ownRedis();
  const target = { host: '127.0.0.1', port: redis.port };
  forDispatcher = await startTcpProxy({ listen: { host: '127.0.0.1', port: 0 }, target });
  forAgents = await startTcpProxy({ listen: { host: agentNetworkGateway(), port: 0 }, target });
  h = await startHarness({
    mode: 'socket',
    projectsYaml: projects,
    redis: { url: `redis://${forDispatcher.address}`, agentUrl: `redis://${forAgents.address}` },
  });
});
afterAll(async () => {
  forDispatcher?.restore();
  forAgents?.restore();
  await h?.stop();
  await forDispatcher?.close();
  await forAgents?.close();
  await redis?.remove();
});

test('drill 6: Redis unreachable for 20 s → requests told to try again, the running job survives and is reported once', async () => {
  const starts = await watchAgentStarts(h.docker);
  try {
    const request = await h.emu.userSays({ channel: 'C0DRILL6', user: 'U0ALICE', text: 'fix #6 in ticker' });
    await eventually(async () => (await h.containers('C0DRILL6')).find((c) => c.State === 'running'), 'the ticker agent running');
    // It has reported in (its status shows work) before the partition.
    await h.emu.waitFor(() => botReplies(h, 'C0DRILL6', request.ts).find((m) => /tick \d+/.test(JSON.stringify(m.blocks ?? m.text))), {
      what: 'the agent’s first ticks in the status',
      timeoutMs: 20_000,
    });
    expect(forAgents.connections).toBeGreaterThan(0); // the agent does come through the proxy

    forDispatcher.cut('blackhole');
    forAgents.cut('blackhole');
    const cutAt = Date.now();
    // Someone asks during the partition: told, not ignored (the dispatcher notices the silence within seconds).
    const meanwhile = await eventually(
      async () => {
        const asked = await h.emu.userSays({ channel: 'C0DRILL6B', user: 'U0BOB', text: `<@${h.emu.botUserId}> status` });
        return h.emu
          .waitFor(() => botReplies(h, 'C0DRILL6B', asked.ts)[0], { what: 'an answer during the partition', timeoutMs: 8000 })
          .catch(() => undefined);
      },
      'an answer during the partition',
      15_000,
    );
    expect(meanwhile.text).toMatch(/temporarily unavailable .* try again in a minute/);
    // The fault itself lasts 20 s: nothing to wait for but the clock.
    await sleep(Math.max(0, PARTITION_MS - (Date.now() - cutAt)));
    forDispatcher.restore();
    forAgents.restore();

    await expectAftermath(h, { starts, told: /^ticker #6 is done/, replicaPorts: [h.dispatcher?.port ?? 0] });
  } finally {
    await starts.stop();
  }
});

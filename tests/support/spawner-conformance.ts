// One conformance suite for the JobSpawner port (after bullmq's
// tests/adapter-conformance.test.ts): every spawner must behave the same on
// these points, whatever backend runs the agents.
import { randomBytes } from 'node:crypto';
import type { AgentSpec, JobSpawner } from '../../src/spawners/spawner.js';
import { eventually } from './eventually.js';
import { buildAgentFixtures, type FixtureImages } from './fixtures/agent-images.js';

export interface SpawnerUnderTest {
  spawner: JobSpawner;
  /** The same kind of spawner, pointed at a backend that does not answer. */
  unreachable: JobSpawner;
  /** Removes whatever the backend still holds for these job ids. */
  cleanup(jobIds: string[]): Promise<void>;
}

export function describeSpawner(name: string, factory: () => Promise<SpawnerUnderTest>): void {
  describe(`JobSpawner conformance: ${name}`, () => {
    let sut: SpawnerUnderTest;
    let fixtures: FixtureImages;
    const run = randomBytes(3).toString('hex').toUpperCase();
    const jobIds: string[] = [];
    const newJobId = () => {
      const id = randomBytes(6).toString('hex');
      jobIds.push(id);
      return id;
    };
    const spec = (jobId: string, image: string, channel = `C0CONF${run}`): AgentSpec => ({
      jobId,
      project: 'conformance',
      channel,
      user: 'U0ALICE',
      request: 'fix #1 in conformance',
      image,
      redisUrl: 'redis://127.0.0.1:1',
      redisPrefix: 'sbtest:conformance:',
      env: { JOB_ID: jobId, PROJECT: 'conformance', CHANNEL_ID: channel, USER_ID: 'U0ALICE', REDIS_PREFIX: 'sbtest:conformance:' },
      resources: { cpus: 0.5, memoryBytes: 256 * 1024 * 1024 },
      timeoutSeconds: 600,
    });

    beforeAll(async () => {
      fixtures = await buildAgentFixtures(['crashing', 'hanging']);
      sut = await factory();
    });
    afterAll(async () => {
      await sut?.cleanup(jobIds);
      await sut?.spawner.close();
      await sut?.unreachable.close();
      await fixtures?.remove();
    });

    test('starting twice gives one agent', async () => {
      const jobId = newJobId();
      const [a, b] = await Promise.all([
        sut.spawner.start(spec(jobId, fixtures.tag('hanging'))),
        sut.spawner.start(spec(jobId, fixtures.tag('hanging'))),
      ]);
      expect([a.adopted, b.adopted].sort()).toEqual([false, true]);
      expect(a.ref).toBe(b.ref);
      const mine = (await sut.spawner.list()).filter((x) => x.jobId === jobId);
      expect(mine).toHaveLength(1);
      await sut.spawner.stop(jobId, 1);
      // Both handles learn the end; the code of a stopped agent is not part of the contract (null if it never ran).
      await expect(Promise.all([a.exited, b.exited])).resolves.toHaveLength(2);
    });

    test('the exit code survives the agent', async () => {
      const jobId = newJobId();
      const handle = await sut.spawner.start(spec(jobId, fixtures.tag('crashing')));
      await expect(handle.exited).resolves.toMatchObject({ exitCode: 3 });
    });

    test('attaching after the agent is gone gives undefined; attaching to a live one adopts it', async () => {
      const crashed = newJobId();
      await (
        await sut.spawner.start(spec(crashed, fixtures.tag('crashing')))
      ).exited;
      await eventually(async () => (await sut.spawner.attach(crashed)) === undefined, 'the exited agent to be gone');

      const live = newJobId();
      await sut.spawner.start(spec(live, fixtures.tag('hanging')));
      const adopted = await sut.spawner.attach(live);
      expect(adopted).toMatchObject({ jobId: live, adopted: true });
      await sut.spawner.stop(live, 1);
      await expect(adopted!.exited).resolves.toBeDefined();
      await eventually(async () => (await sut.spawner.attach(live)) === undefined, 'the stopped agent to be gone');
    });

    test('stopping a missing agent is fine', async () => {
      await expect(sut.spawner.stop(newJobId(), 1)).resolves.toBeUndefined();
    });

    test('listing by label finds each running agent with its project and channel', async () => {
      const [one, two] = [newJobId(), newJobId()];
      await sut.spawner.start(spec(one, fixtures.tag('hanging'), `C0LISTA${run}`));
      await sut.spawner.start(spec(two, fixtures.tag('hanging'), `C0LISTB${run}`));
      const listed = (await sut.spawner.list()).filter((a) => a.jobId === one || a.jobId === two);
      expect(listed.sort((a, b) => a.channel.localeCompare(b.channel))).toEqual([
        expect.objectContaining({ jobId: one, project: 'conformance', channel: `C0LISTA${run}` }),
        expect.objectContaining({ jobId: two, project: 'conformance', channel: `C0LISTB${run}` }),
      ]);
      await Promise.all([sut.spawner.stop(one, 1), sut.spawner.stop(two, 1)]);
      await eventually(
        async () => !(await sut.spawner.list()).some((a) => (a.jobId === one || a.jobId === two) && a.running),
        'both agents stopped',
      );
    });

    test('an unreachable backend gives a readable error', async () => {
      await expect(sut.unreachable.ping()).rejects.toThrow(/does not answer/);
      await expect(sut.unreachable.start(spec(newJobId(), fixtures.tag('crashing')))).rejects.toThrow(/does not answer/);
      await expect(sut.unreachable.list()).rejects.toThrow(/does not answer/);
    });
  });
}

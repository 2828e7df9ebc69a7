// Per-job Redis users against the real server: what a job's user may do, that
// revoking it ends it, that restoring re-creates it with the same password,
// and the dispatcher's start-up check that it may manage ACL users at all.
// Then the supervisor's run-time re-check against the current catalogue.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { keys, type Keys } from '../../src/domain/keys.js';
import { AclNotPermittedError, AgentCredentials, agentUsername } from '../../src/state/agent-credentials.js';
import { agentRedisUrl } from '../../src/jobs/run/agent-spec.js';
import { silentLogger } from '../../src/observability/logger.js';
import { loadConfig } from '../../src/config/env.js';
import { startDispatcher } from '../../src/dispatcher.js';
import { parseCatalogue } from '../../src/config/catalogue.js';
import { ChannelLock, workspaceLock } from '../../src/state/channel-lock.js';
import { JobControls } from '../../src/state/job-controls.js';
import { JobStore } from '../../src/state/job-store.js';
import { JobSupervisor } from '../../src/jobs/run/job-supervisor.js';
import type { JobNotifier } from '../../src/jobs/ports.js';
import type { JobRecord } from '../../src/domain/job.js';
import { DockerSpawner } from '../../src/spawners/docker/docker-spawner.js';
import { deleteKeys, redisUrl } from '../support/redis.js';
import { aJob } from '../support/jobs.js';
import { agentNetwork } from '../support/agent-network.js';

let admin: Redis;
let prefix: string;
let k: Keys;
let credentials: AgentCredentials;
const opened: Redis[] = [];

/** A connection as the agent makes it (src/agent/main.ts: no ready check). */
function asAgent(url: string): Redis {
  const r = new Redis(url, { enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => undefined);
  opened.push(r);
  return r;
}

beforeAll(() => {
  admin = new Redis(redisUrl());
});
beforeEach(() => {
  prefix = `sbtest:${randomBytes(4).toString('hex')}:`;
  k = keys(prefix);
  credentials = new AgentCredentials(admin, k, silentLogger);
});
afterEach(async () => {
  for (const r of opened.splice(0)) r.disconnect();
  for (const jobId of Object.keys(await admin.hgetall(k.agentUsers))) await admin.call('ACL', 'DELUSER', agentUsername(jobId));
  await deleteKeys(admin, `${prefix}*`);
});
afterAll(async () => {
  await admin.quit();
});

test("a job's user may use its three keys as the runner does, and nothing else", async () => {
  const cred = await credentials.issue('aaa111');
  const agent = asAgent(agentRedisUrl(redisUrl(), cred));
  await agent.connect();

  await expect(agent.xadd(k.jobEvents('aaa111'), 'MAXLEN', '~', 1000, '*', 'e', '{}')).resolves.toEqual(expect.any(String));
  await expect(agent.expire(k.jobEvents('aaa111'), 60)).resolves.toBe(1);
  await expect(agent.set(k.jobHeartbeat('aaa111'), '1', 'PX', 10_000)).resolves.toBe('OK');
  await expect(agent.del(k.jobHeartbeat('aaa111'))).resolves.toBe(1);
  await expect(agent.xread('COUNT', 1, 'STREAMS', k.jobControl('aaa111'), '0')).resolves.toBeNull();
  await expect(agent.ping()).resolves.toBe('PONG');

  await admin.set(k.job('aaa111'), '{"state":"running"}');
  await expect(agent.get(k.job('aaa111'))).rejects.toThrow(/^NOPERM/); // the job's own record: no `job:ID:*` wildcard
  await expect(agent.set(k.job('aaa111'), '{}')).rejects.toThrow(/^NOPERM/);
  await expect(agent.get(k.jobEvents('aaa111'))).rejects.toThrow(/^NOPERM/); // a command the runner never sends
  await expect(agent.xadd(k.jobEvents('bbb222'), '*', 'e', '{}')).rejects.toThrow(/^NOPERM/);
  await expect(agent.call('INFO')).rejects.toThrow(/^NOPERM/);
  await expect(agent.subscribe('anything')).rejects.toThrow(/^NOPERM/);
});

test('revoking ends the user and its connections; restoring re-creates it with the same password', async () => {
  const cred = await credentials.issue('ccc333');
  expect(await admin.hget(k.agentUsers, 'ccc333')).toMatch(/^[0-9a-f]{64}$/);
  expect(JSON.stringify(await admin.hgetall(k.agentUsers))).not.toContain(cred.password);

  // A restart loses ACL users: the same as deleting it behind the dispatcher's back.
  await admin.call('ACL', 'DELUSER', agentUsername('ccc333'));
  expect(await credentials.restore()).toBe(1);
  const agent = asAgent(agentRedisUrl(redisUrl(), cred));
  await agent.connect();
  await expect(agent.set(k.jobHeartbeat('ccc333'), '1', 'PX', 1000)).resolves.toBe('OK');

  await credentials.revoke('ccc333');
  expect(await admin.call('ACL', 'GETUSER', agentUsername('ccc333'))).toBeNull();
  expect(await admin.hget(k.agentUsers, 'ccc333')).toBeNull();
  await expect(agent.set(k.jobHeartbeat('ccc333'), '1', 'PX', 1000)).rejects.toThrow();
  await expect(credentials.revoke('ccc333')).resolves.toBeUndefined(); // twice is fine
});

describe('without the right to manage ACL users', () => {
  const user = `sbtest-noacl-${randomBytes(3).toString('hex')}`;
  const password = randomBytes(8).toString('hex');
  let limitedUrl: string;
  let dir: string;

  beforeAll(async () => {
    await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-acl');
    const url = new URL(redisUrl());
    url.username = user;
    url.password = password;
    limitedUrl = url.toString();
    dir = mkdtempSync(join(tmpdir(), 'sb-noacl-'));
    writeFileSync(
      join(dir, 'projects.yml'),
      'projects:\n  demo:\n    repo: https://example.com/acme/demo.git\n    agent: { command: ["true"] }\n',
    );
  });
  afterAll(async () => {
    await admin.call('ACL', 'DELUSER', user);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the check refuses, and the dispatcher does not start, saying how to grant it', async () => {
    const limited = new Redis(limitedUrl);
    opened.push(limited);
    await expect(new AgentCredentials(limited, k, silentLogger).assertCanManage()).rejects.toBeInstanceOf(AclNotPermittedError);
    await expect(new AgentCredentials(admin, k, silentLogger).assertCanManage()).resolves.toBeUndefined();

    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_APP_TOKEN: 'xapp-test',
      REDIS_URL: limitedUrl,
      REDIS_PREFIX: prefix,
      PROJECTS_FILE: join(dir, 'projects.yml'),
      LOG_LEVEL: 'silent',
    });
    const refused = await startDispatcher(config, { logger: silentLogger }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(AclNotPermittedError);
    expect((refused as AclNotPermittedError).message).toMatch(
      /^The dispatcher must be able to create and delete Redis ACL users .* but Redis refused: NOPERM/,
    );
    expect((refused as AclNotPermittedError).operatorHint).toMatch(/ACL SETUSER <dispatcher-user> on >… ~\* &\* \+@all/);
  });
});

describe('the supervisor checks a queued job against the current catalogue before starting it', () => {
  const recorded: JobRecord[] = [];
  const notifier: JobNotifier = {
    postStatus: async () => 'ts',
    updateStatus: async (j) => void recorded.push(j),
    postResult: async (j) => void recorded.push(j),
  };
  const supervisorFor = (yaml: string, workspaceRoot?: string) =>
    new JobSupervisor({
      redis: admin,
      keys: k,
      store: new JobStore(admin, k),
      lock: new ChannelLock(admin, k),
      controls: new JobControls(admin, k),
      workspaceLock: workspaceLock(admin, k),
      credentials,
      // Never reached when the job is refused: a start would fail with another reason (no such image).
      spawner: new DockerSpawner({ dockerHost: '/var/run/docker.sock', network: agentNetwork(), logger: silentLogger }),
      notifier,
      catalogue: () => parseCatalogue(yaml, 'test'),
      agent: {
        image: 'switchboard-agent-fixture:none',
        redisUrl: redisUrl(),
        redisPrefix: prefix,
        secrets: {},
        ...(workspaceRoot ? { workspaceRoot } : {}),
      },
      logger: silentLogger,
    });

  async function superviseQueued(yaml: string, workspaceRoot?: string): Promise<JobRecord | undefined> {
    const store = new JobStore(admin, k);
    const job = aJob({ id: randomBytes(6).toString('hex'), project: 'billing-api', channel: 'C0ALLOWED', user: 'U0ALICE' });
    await store.save(job);
    await admin.set(k.channelLock(job.channel), job.id);
    await supervisorFor(yaml, workspaceRoot).supervise(job.id, new AbortController().signal);
    return store.get(job.id);
  }

  test("a channel taken off the project's list is refused with the reason, and nothing is started", async () => {
    const job = await superviseQueued(
      'projects:\n  billing-api:\n    repo: https://example.com/acme/billing-api.git\n    channels: [C0OTHER]\n    agent: { command: ["true"] }\n',
    );
    expect(job).toMatchObject({ state: 'failed', retryable: false });
    expect(job?.reason).toMatch(
      /^the project catalogue changed after this job was accepted, and it may no longer run: billing-api can't be started from this channel/,
    );
    expect(await admin.hlen(k.agentUsers)).toBe(0); // no Redis user was ever made
  });

  test('a user taken off the list is refused too', async () => {
    const job = await superviseQueued(
      'projects:\n  billing-api:\n    repo: https://example.com/acme/billing-api.git\n    users: [U0BOB]\n    agent: { command: ["true"] }\n',
    );
    expect(job?.reason).toMatch(/may no longer run: You're not on the list of people who may start billing-api/);
  });

  test('a workspace outside WORKSPACE_ROOT is refused', async () => {
    const yaml = 'projects:\n  billing-api:\n    workspace: /srv/elsewhere/billing\n    agent: { command: ["true"] }\n';
    expect((await superviseQueued(yaml, '/srv/checkouts'))?.reason).toMatch(
      /the workspace of billing-api cannot be used: it must lie under WORKSPACE_ROOT \(\/srv\/checkouts\)/,
    );
    expect((await superviseQueued(yaml))?.reason).toMatch(/workspaces are off: set WORKSPACE_ROOT/);
  });

  test('a workspace in use by a job from another channel is refused, and its lock is left to its holder', async () => {
    const yaml = 'projects:\n  billing-api:\n    workspace: /srv/checkouts/billing\n    agent: { command: ["true"] }\n';
    await admin.set(k.workspaceLock('/srv/checkouts/billing'), 'otherjob0001', 'PX', 60_000);
    const job = await superviseQueued(yaml, '/srv/checkouts');
    expect(job).toMatchObject({ state: 'failed', retryable: true });
    expect(job?.reason).toMatch(
      /^the workspace of billing-api is in use by another job \(otherjob0001\), perhaps from another channel; ask again when it has finished/,
    );
    expect(await admin.get(k.workspaceLock('/srv/checkouts/billing'))).toBe('otherjob0001');
    expect(await admin.hlen(k.agentUsers)).toBe(0);
  });

  test('a job that may run gets its user, and loses it when its start fails', async () => {
    const job = await superviseQueued(
      'projects:\n  billing-api:\n    repo: https://example.com/acme/billing-api.git\n    agent: { command: ["true"] }\n',
    );
    expect(job?.reason).toBe(
      'the agent could not be started: the agent image is not installed on this Switchboard; whoever runs it will find the fix in its logs',
    );
    expect(await admin.hlen(k.agentUsers)).toBe(0);
    expect(await admin.call('ACL', 'GETUSER', agentUsername(job?.id ?? ''))).toBeNull();
  });
});

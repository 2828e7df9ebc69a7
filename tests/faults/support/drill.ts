// What every fault drill asserts once the fault is over (issue 11):
// no job started twice, every final result delivered once, every affected
// user told (with the drill's own words), no channel left locked, and the
// dispatcher ready and serving: /readyz 200 and a new job completes.
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import type { JobRecord } from '../../../src/domain/job.js';
import { isJobId } from '../../../src/domain/job-id.js';
import { botReplies, type Harness } from '../../support/dispatcher-harness.js';
import { eventually } from '../../support/eventually.js';
import type { RecordedMessage } from '../../support/slack-emulator/index.js';

/** The result a job's thread gets when it ends ("demo #58 is done", "… failed: why", "… was cancelled by …"); the status message reads "demo #58: …". */
export const RESULT = /^\S+ #\d+ (is done|failed|was cancelled)/;

const FINISHED = new Set(['done', 'failed', 'cancelled']);

export interface AgentStarts {
  /** Containers created per job id (every job of the engine; filter with the harness's jobs). */
  readonly byJob: ReadonlyMap<string, number>;
  /** Most agents of this harness running at the same moment (from start/die events). */
  readonly peakRunning: number;
  stop(): Promise<void>;
}

/**
 * Records every agent container the engine creates, from Docker's own event
 * stream (so a short-lived second container cannot slip between two polls).
 * Start it before the drill's first request. Only the harness's own jobs are
 * counted by expectAftermath (another run may share the engine).
 */
export async function watchAgentStarts(docker: Docker): Promise<AgentStarts> {
  const byJob = new Map<string, number>();
  const running = new Set<string>();
  let peakRunning = 0;
  const stream = (await docker.getEvents({
    filters: JSON.stringify({
      type: ['container'],
      event: ['create', 'start', 'die'],
      label: ['app.kubernetes.io/managed-by=switchboard'],
    }),
  })) as NodeJS.ReadableStream & { destroy(): void };
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { Action?: string; id?: string; Actor?: { Attributes?: Record<string, string> } };
      const jobId = event.Actor?.Attributes?.['switchboard.job-id'] ?? '(no job id label)';
      if (event.Action === 'create') byJob.set(jobId, (byJob.get(jobId) ?? 0) + 1);
      if (event.Action === 'start' && event.id) {
        running.add(event.id);
        peakRunning = Math.max(peakRunning, running.size);
      }
      if (event.Action === 'die' && event.id) running.delete(event.id);
    }
  });
  stream.on('error', () => undefined);
  return {
    byJob,
    get peakRunning() {
      return peakRunning;
    },
    async stop() {
      stream.destroy();
    },
  };
}

/** Every job recorded under the harness's prefix. */
export async function harnessJobs(h: Pick<Harness, 'config' | 'prefix'>): Promise<JobRecord[]> {
  const redis = new Redis(h.config.redis.url);
  try {
    const keys = (await redis.keys(`${h.prefix}job:*`)).filter((k) => isJobId(k.slice(`${h.prefix}job:`.length)));
    const values = keys.length ? await redis.mget(...keys) : [];
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as JobRecord);
  } finally {
    redis.disconnect();
  }
}

/** The result messages in a job's thread (not the status message, not other replies). */
export function resultMessages(h: Pick<Harness, 'emu'>, job: Pick<JobRecord, 'channel' | 'threadTs' | 'statusTs'>): RecordedMessage[] {
  if (!job.threadTs) return [];
  return botReplies(h, job.channel, job.threadTs).filter((m) => m.ts !== job.statusTs && RESULT.test(m.text ?? ''));
}

export interface AftermathOptions {
  /** From watchAgentStarts, started before the drill. */
  starts: AgentStarts;
  /** What each affected job's thread must show (the drill's own words): a predicate over its bot messages, or a pattern one of them matches. */
  told: RegExp | ((job: JobRecord, messages: RecordedMessage[]) => boolean);
  /** The jobs the fault touched (default: every job of the harness). */
  affected?: (job: JobRecord) => boolean;
  /** Ports of the replicas still up (their /readyz must answer 200). */
  replicaPorts: number[];
  /** A project of the drill's catalogue whose job ends "is done" quickly (the after-check); default 'demo'. */
  probeProject?: string;
  /** How long to wait for every job to finish; default 60 s. */
  settleMs?: number;
}

/**
 * Waits for every job of the harness to finish, then asserts the drill's
 * aftermath (see the file's head). Call it last in a drill.
 */
export async function expectAftermath(h: Harness, opts: AftermathOptions): Promise<void> {
  const jobs = await eventually(
    async () => {
      const all = await harnessJobs(h);
      return all.every((j) => FINISHED.has(j.state)) && all;
    },
    'every job of the drill to finish',
    opts.settleMs ?? 60_000,
  );
  const ownIds = new Set(jobs.map((j) => j.id));

  // No job started twice.
  const twice = [...opts.starts.byJob].filter(([id, n]) => ownIds.has(id) && n > 1);
  expect(twice).toEqual([]);

  // Every final result delivered once (the delivery may still be on its way: wait for it, then count).
  for (const job of jobs) {
    await eventually(async () => resultMessages(h, job).length > 0, `the result of job ${job.id} (${job.state}) in its thread`, 30_000);
    expect({ job: job.id, results: resultMessages(h, job).map((m) => m.text) }).toEqual({
      job: job.id,
      results: [expect.stringMatching(RESULT)],
    });
  }

  // Every affected user told, in the drill's words.
  for (const job of jobs.filter(opts.affected ?? (() => true))) {
    const messages = job.threadTs ? botReplies(h, job.channel, job.threadTs) : [];
    const told =
      typeof opts.told === 'function'
        ? opts.told(job, messages)
        : messages.some((m) => opts.told instanceof RegExp && opts.told.test(m.text ?? ''));
    if (!told)
      throw new Error(
        `job ${job.id} (${job.state}, ${job.reason ?? 'no reason'}): its thread does not say ${String(opts.told)}:\n${messages.map((m) => `  ${m.text}`).join('\n')}`,
      );
  }

  // No channel (or workspace) left locked.
  const redis = new Redis(h.config.redis.url);
  try {
    await eventually(async () => (await redis.keys(`${h.prefix}lock:*`)).length === 0, 'no channel or workspace lock left', 15_000);
  } finally {
    redis.disconnect();
  }

  // Ready and serving.
  for (const port of opts.replicaPorts) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect({ port, status: res.status, body: await res.text() }).toMatchObject({ port, status: 200 });
  }
  await expectNewJobCompletes(h, opts.probeProject ?? 'demo');
}

/**
 * The catalogue of a drill that runs a `ticker` job through its fault: it prints `ticks` lines
 * `everySeconds` apart, then opens pull request `pr`; `demo` is done at once (the aftermath's new job).
 */
export const tickerCatalogue =
  (ticker: { ticks: number; everySeconds: number; pr: number }) =>
  (workspace: string): string => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo working; echo 'Opened https://github.com/acme/demo/pull/1'"]
  ticker:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "for i in $(seq 1 ${ticker.ticks}); do echo tick $i; sleep ${ticker.everySeconds}; done; echo 'Opened https://github.com/acme/ticker/pull/${ticker.pr}'"]
`;

/** A request in a channel of its own starts a job that ends "is done". */
export async function expectNewJobCompletes(h: Harness, project: string): Promise<void> {
  const channel = `C0AFTER${Math.floor(Math.random() * 1e6)}`;
  const request = await h.emu.userSays({ channel, user: 'U0AFTER', text: `fix #1 in ${project}` });
  await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m) => /^\S+ #1 is done/.test(m.text ?? '')), {
    what: `a new job in ${channel} to complete after the drill`,
    timeoutMs: 60_000,
  });
}

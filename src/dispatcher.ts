// Wires one dispatcher replica: config in, running Slack app, queue worker and
// relay out. main.ts calls it for production; end-to-end tests call it too.
// Over 350 lines: it is the one place that constructs a replica's parts, a few lines of options each.
import { internalError } from './domain/text.js';
import type { Config } from './config/env.js';
import { redactConfig } from './config/redact.js';
import { CatalogueWatcher } from './config/catalogue-watcher.js';
import { keys as keysFor } from './domain/keys.js';
import { failJob } from './domain/job.js';
import type { Logger } from './observability/logger.js';
import { findIssueInProjects } from './trackers/issue-lookup.js';
import { Metrics } from './observability/metrics.js';
import { healthRoutes, type ReadinessReport } from './observability/http-routes.js';
import { connectRedis, RedisHealth, waitForRedis } from './state/redis.js';
import { ChannelLock, workspaceLock } from './state/channel-lock.js';
import { AgentCredentials } from './state/agent-credentials.js';
import { JobStore } from './state/job-store.js';
import { EventDedupe } from './state/event-dedupe.js';
import { RefusalBursts } from './state/refusal-burst.js';
import { timedSpawner } from './spawners/spawn-timing.js';
import { measureRelayLag } from './jobs/run/relay-lag.js';
import { DockerSpawner } from './spawners/docker/docker-spawner.js';
import type { JobSpawner } from './spawners/spawner.js';
import { JobQueue } from './jobs/job-queue.js';
import { JobRequests } from './jobs/job-requests.js';
import { ChatRequests } from './chat/chat-requests.js';
import { JobSupervisor, DEFAULT_TIMINGS, type SupervisorTimings } from './jobs/run/job-supervisor.js';
import { SlackConnection } from './slack/slack-connection.js';
import { slackSurface } from './slack/slack-surface.js';
import { localSurface } from './local-chat/local-surface.js';
import { JobControls } from './state/job-controls.js';
import { AuditLog } from './state/audit-log.js';
import { JobControl } from './jobs/job-control.js';
import { ChatActions } from './chat/chat-actions.js';
import { DashboardData } from './dashboard/dashboard-data.js';
import { dashboardAccess } from './dashboard/dashboard-access.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { JobEventStreams } from './dashboard/job-event-stream.js';
import { Conversation } from './jobs/conversation.js';
import { bindConversation } from './chat/conversation-bindings.js';
import { WaitingJobs } from './jobs/waiting-jobs.js';
import { ChannelLine } from './state/channel-line.js';
import { QuestionStore } from './state/question-store.js';
import { startInference } from './inference/index.js';
import { FreeTextConfirmations, FreeTextReader, lightRouteOn, registerReadingButtons } from './chat/free-text.js';
import { PendingReadings } from './state/pending-readings.js';
import { LeaseKeeper } from './state/lease-keeper.js';
import { Reconciler } from './jobs/run/reconciler.js';
import { startHousekeeping } from './jobs/housekeeping.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

export interface DispatcherOptions {
  logger: Logger;
  /** Where the values of projects' `env` names come from; default process.env. */
  secrets?: Record<string, string | undefined>;
  timings?: Partial<SupervisorTimings>;
  /** The supervisors' clock (heartbeat grace, time limits); default Date.now. */
  now?: () => number;
  /** How long start-up waits for Redis to answer before it gives up (RedisUnreachableError); default 15 s (the process is gone within 30). */
  redisStartTimeoutMs?: number;
  /** How long stop() may take to hand back what this replica holds; default 20 s. */
  stopDeadlineMs?: number;
  /**
   * Hears of a failure after start-up that should stop the process (Slack
   * rejected a token once it answered); default: logged as fatal.
   */
  onFatal?: (err: Error) => void;
  /** Where agents run, when not the configured Docker or Kubernetes (the benchmarks simulate agents). */
  spawner?: JobSpawner;
}

export interface RunningDispatcher {
  /** The agents' inference listener's port, when inference is on (OLLAMA_URL). */
  inferencePort?: number;
  stop(): Promise<void>;
}

async function createSpawner(config: Config, logger: Logger, stopGraceSeconds: number): Promise<JobSpawner> {
  if (config.spawner.type === 'kubernetes') {
    // Loaded only here: @kubernetes/client-node alone holds ~40 MB of a Docker-only dispatcher's memory (bench/README.md, scale).
    // One after the other: jest's ESM loader fails two concurrent imports that share a dependency.
    const { KubernetesSpawner } = await import('./spawners/kubernetes/kubernetes-spawner.js');
    const { connectKube } = await import('./spawners/kubernetes/kube-connection.js');
    const connection = connectKube({ namespace: config.spawner.k8sNamespace });
    logger.info({ server: connection.server, namespace: connection.namespace }, 'agents run as Kubernetes Jobs');
    // AGENT_RUNTIME names a RuntimeClass on Kubernetes (gvisor, kata…).
    return new KubernetesSpawner({
      connection,
      logger,
      terminationGraceSeconds: stopGraceSeconds,
      runtimeClassName: config.spawner.agentRuntime,
    });
  }
  return new DockerSpawner({
    dockerHost: config.spawner.dockerHost,
    network: config.spawner.dockerNetwork,
    runtime: config.spawner.agentRuntime,
    logger,
  });
}

export async function startDispatcher(config: Config, options: DispatcherOptions): Promise<RunningDispatcher> {
  const { logger } = options;
  logger.info({ config: redactConfig(config) }, 'starting the dispatcher');
  const timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const keys = keysFor(config.redis.prefix);
  const metrics = new Metrics();

  const catalogue = await CatalogueWatcher.open(config.projectsFile, {
    onReload: (c) => logger.info({ projects: [...c.projects.keys()] }, 'project catalogue reloaded'),
    onError: (err) => logger.error({ err }, 'project catalogue edit is invalid: still using the previous one'),
  });
  logger.info({ projects: [...catalogue.current().projects.keys()], file: config.projectsFile }, 'project catalogue loaded');

  // Commands wait through a Redis outage (as BullMQ's do) rather than fail the job they serve;
  // chat requests are answered "try again in a minute" meanwhile (slack/outage-reply.ts).
  const redis = connectRedis(config.redis.url, 'dispatcher', { maxRetriesPerRequest: null }, logger);
  const credentials = new AgentCredentials(redis, keys, logger);
  try {
    await waitForRedis(redis, config.redis.url, options.redisStartTimeoutMs ?? 15_000);
    await credentials.assertCanManage();
  } catch (err) {
    redis.disconnect();
    catalogue.close();
    throw err;
  }
  const stopRestoringUsers = credentials.restoreOnReconnect();
  // This replica's name in the leases it holds; one keeper renews them all (locks, supervision, reconciler).
  const replicaId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const leases = new LeaseKeeper({ redis, logger, tickMs: Math.max(100, Math.min(1000, timings.takeoverLeaseMs / 8)) });
  leases.start();
  const redisHealth = new RedisHealth(redis);
  const lock = new ChannelLock(redis, keys);
  const store = new JobStore(redis, keys);
  const dedupe = new EventDedupe(redis, keys, undefined, (err) =>
    logger.warn({ err }, 'could not renew the claim of a Slack delivery being handled'),
  );
  const controls = new JobControls(redis, keys);
  const audit = new AuditLog(redis, keys, logger);
  const spawner = timedSpawner(options.spawner ?? (await createSpawner(config, logger, timings.stopGraceSeconds)), metrics);
  const queue = new JobQueue({
    redisUrl: config.redis.url,
    prefix: keys.queuePrefix,
    maxConcurrentJobs: config.maxConcurrentJobs,
    logger,
    takeoverLeaseMs: timings.takeoverLeaseMs,
    stalledCheckMs: timings.stalledCheckMs,
    onTaken: (waitedMs) => metrics.queueWait.observe(waitedMs / 1000),
  });
  await queue.init();
  metrics.watchJobs(
    () => store.countByState(),
    () => queue.depth(),
  );

  // Inference (issue 9): the router and the agents' endpoint on INFERENCE_PORT; off without OLLAMA_URL.
  // The light route for chat text is inference.router.chat({ route: 'light', messages, format }).
  const inference = await startInference(config, {
    redis,
    keys,
    prefix: config.redis.prefix,
    jobs: store,
    catalogue: () => catalogue.current(),
    logger,
    metrics,
  });

  // The job dashboard rides on PORT in every mode (read-only; DASHBOARD_TOKEN outside local mode).
  const jobStreams = new JobEventStreams({ redis, keys, store, logger });
  // Slack's tokens and reachability (slack/slack-connection.ts): reported by /readyz, never a reason to be unready.
  const slackConnection =
    config.slack.mode === 'local'
      ? undefined
      : new SlackConnection({
          apiUrl: config.slack.apiUrl,
          botToken: config.slack.botToken ?? '',
          ...(config.slack.mode === 'socket' ? { appToken: config.slack.appToken ?? '' } : {}),
          logger: logger.child({ component: 'slack' }),
        });
  const reports: ReadinessReport[] = slackConnection ? [{ name: 'slack', describe: () => slackConnection.describe() }] : [];
  const onFatal = options.onFatal ?? ((err: Error) => logger.fatal({ err }, err.message));
  const routes = [
    ...healthRoutes(
      [
        { name: 'redis', check: async () => void (await redis.ping()) },
        { name: `spawner (${spawner.kind})`, check: () => spawner.ping() },
      ],
      metrics,
      reports,
    ),
    ...dashboardRoutes({
      access: dashboardAccess(config.slack.mode, config.dashboardToken),
      data: new DashboardData({
        redis,
        keys,
        store,
        waiting: () => queue.waiting(),
        ...(inference ? { gpuQueue: inference.gpuQueue } : {}),
      }),
      streams: jobStreams,
      logger,
    }),
  ];
  const surface =
    config.slack.mode === 'local' || !slackConnection
      ? localSurface(config, routes, { redis, logger, metrics })
      : slackSurface(config, routes, {
          redis,
          keys,
          dedupe,
          logger,
          metrics,
          connection: slackConnection,
          redisAvailable: () => redisHealth.available,
          onFatal,
        });
  const notifier = surface.notifier;

  // The conversation (questions, answers, follow-ups) and the channels' lines (`busy: queue`).
  const line = new ChannelLine(redis, keys);
  const waitingJobs = new WaitingJobs({
    line,
    store,
    notifier,
    catalogue: () => catalogue.current(),
    enqueue: (data, priority) => queue.enqueue(data, priority),
    isQueued: (jobId) => queue.contains(jobId),
    lockLeaseMs: timings.lockLeaseMs,
    logger,
  });
  const conversation = new Conversation({
    store,
    questions: new QuestionStore(redis, keys),
    controls,
    catalogue: () => catalogue.current(),
    chat: surface.conversationChat,
    logger,
  });

  const jobs = new JobRequests({
    catalogue: () => catalogue.current(),
    lock,
    store,
    notifier,
    enqueue: (data, priority) => queue.enqueue(data, priority),
    lockLeaseMs: timings.lockLeaseMs,
    logger,
    servesInference: () => inference !== undefined,
    // `fix #58` without a project: ask the trackers, with the tokens the runners get.
    findIssue: (projects, issue) =>
      findIssueInProjects(projects, issue, {
        secrets: options.secrets ?? process.env,
        log: (msg, err) => logger.warn({ err, issue }, msg),
      }),
    waiting: waitingJobs,
    // 999 people asking a busy channel at once get one answer with a count, across replicas.
    refusals: new RefusalBursts(redis, keys.refusalBurst),
  });
  const supervisor = new JobSupervisor({
    redis,
    keys,
    store,
    lock,
    controls,
    workspaceLock: workspaceLock(redis, keys),
    credentials,
    spawner,
    notifier: measureRelayLag(notifier, metrics),
    channels: waitingJobs,
    questions: conversation,
    catalogue: () => catalogue.current(),
    agent: {
      image: config.spawner.agentImage,
      redisUrl: config.redis.agentUrl,
      redisPrefix: config.redis.prefix,
      secrets: options.secrets ?? process.env,
      ...(config.workspaceRoot ? { workspaceRoot: config.workspaceRoot } : {}),
      ...(inference ? { inferenceUrl: inference.agentUrl } : {}),
    },
    logger,
    metrics,
    timings,
    now: options.now,
    leases,
    replicaId,
    ...(inference
      ? {
          inference: {
            issue: (id: string, ttl: number) => inference.tokens.issue(id, ttl),
            revoke: (id: string) => inference.tokens.revoke(id),
          },
        }
      : {}),
  });
  const control = new JobControl({
    store,
    lock,
    controls,
    queue,
    requests: jobs,
    lines: waitingJobs,
    catalogue: () => catalogue.current(),
    endWithoutAgent: (job) => supervisor.finishWithoutAgent(job),
    threadLink: (j) => notifier.threadLink(j),
    logger,
  });
  // Free text the grammar does not understand goes to the light route, when there is one (INFERENCE_LIGHT_MODEL).
  const freeText =
    inference && inference.router.modelOf('light')
      ? new FreeTextConfirmations({
          reader: new FreeTextReader({ light: lightRouteOn(inference.router), logger }),
          readings: new PendingReadings(redis, (id) => keys.pendingReading(id)),
        })
      : undefined;
  const requests = new ChatRequests({
    jobs,
    control,
    catalogue: () => catalogue.current(),
    lock,
    store,
    threadLink: (j) => notifier.threadLink(j),
    ...(freeText ? { freeText } : {}),
  });
  // The platform-neutral chat core; Slack's listeners (and any other chat adapter) only adapt it.
  const chat = new ChatActions({ requests, control, audit, logger });
  if (freeText) registerReadingButtons(chat, freeText, requests);
  // Questions' answer buttons, and follow-ups in a job's thread.
  bindConversation(conversation, chat, requests);

  // The jobs this replica supervises now: what a shutdown hands back, and names if it cannot in time.
  const held = new Set<string>();
  queue.startWorker(
    async (jobId, signal) => {
      held.add(jobId);
      try {
        return await supervisor.supervise(jobId, signal);
      } finally {
        held.delete(jobId);
      }
    },
    async (jobId) => {
      // The crash itself is logged by the queue; chat only gets the ref.
      const job = await store.get(jobId);
      if (!job) return;
      await supervisor.finishFailed(failJob(job, `Switchboard could not run the job (${internalError(jobId)})`, Date.now()));
    },
  );

  // Queued jobs keep their channels, orphaned lines move on, unanswered questions get their defaults (jobs/housekeeping.ts).
  const housekeeping = startHousekeeping({ keys, leases, queue, lines: waitingJobs, conversation, timings, logger });
  // What crashes and lost writes leave behind (unsupervised agents, orphans, stale locks), on one replica at a time.
  const reconciler = new Reconciler({
    redis,
    keys,
    store,
    spawner,
    credentials,
    leases,
    replicaId,
    queue,
    finishFailed: (job) => supervisor.finishFailed(job),
    freeChannel: (channel, holder) => waitingJobs.release(channel, holder),
    catalogue: () => catalogue.current(),
    logger,
    metrics,
    timings,
    now: options.now,
  });
  reconciler.start();
  await surface.start(chat);
  logger.info({ mode: config.slack.mode, port: config.port, host: config.listenHost, spawner: spawner.kind }, 'Switchboard is up');

  let stopped: Promise<void> | undefined;
  return {
    ...(inference ? { inferencePort: inference.port } : {}),
    stop() {
      stopped ??= stopWithin();
      return stopped;
    },
  };

  /** Stops taking work and hands back what this replica holds, within the deadline; never stops an agent. */
  async function stopWithin(): Promise<void> {
    const deadlineMs = options.stopDeadlineMs ?? 20_000;
    logger.info({ deadlineMs, jobs: [...held] }, 'shutting down: no new requests or jobs; running agents are left for another replica');
    const handBack = async () => {
      housekeeping.close();
      reconciler.close();
      jobStreams.close();
      stopRestoringUsers();
      redisHealth.close();
      await surface.stopListening();
      // Aborts every supervision: each returns its job to the queue for another replica, its agent untouched.
      await queue.close();
      leases.close();
      await inference?.stop().catch((err: unknown) => logger.warn({ err }, 'stopping inference failed'));
      await surface.close();
    };
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      handBack().then(
        () => true,
        (err: unknown) => (
          logger.error({ err }, 'handing back failed; the other replicas take the jobs over when their locks lapse'),
          true
        ),
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      // Never a reason to stop an agent: another replica adopts it once this one's hold lapses.
      logger.error(
        { deadlineMs, jobs: [...held] },
        'shutdown deadline passed: these jobs were not handed back; another replica takes them over when their locks lapse',
      );
      queue.abandon();
    }
    await spawner.close().catch((err: Error) => logger.warn({ err }, 'closing the spawner failed'));
    catalogue.close();
    redis.disconnect();
    logger.info({ handedBack: inTime }, 'stopped');
  }
}

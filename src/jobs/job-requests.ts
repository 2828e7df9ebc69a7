// Turns "fix #58 in billing-api" into a queued job — or into a clear no:
// unknown project, not allowed here, or the channel is busy. Only one job
// holds a channel; the lock is taken before anything is posted or queued.
import { internalError } from '../domain/text.js';
import { failJob, newJob, type JobRecord } from '../domain/job.js';
import { newJobId } from '../domain/job-id.js';
import { UserFacingError } from '../errors.js';
import { namedAgent, type Catalogue, type Project } from '../domain/project.js';
import { mayDispatch, mayUse, projectsFor, type SenderContext } from '../domain/permissions.js';
import { findProjectByRepo } from '../domain/repositories.js';
import type { ChannelLock } from '../state/channel-lock.js';
import type { JobStore } from '../state/job-store.js';
import type { JobNotifier } from './ports.js';
import { jobLogger, type Logger } from '../observability/logger.js';
import type { QueuedJobData } from './job-queue.js';
import { lookable, type IssueLookupResult } from '../trackers/issue-lookup.js';
import type { WaitingJobs } from './waiting-jobs.js';
import type { BurstLead, RefusalBursts } from '../state/refusal-burst.js';

export interface FixRequest {
  channel: string;
  user: string;
  issue: number;
  project?: string;
  /** owner/name when the request named a repository. */
  repo?: string;
  /** One of the project's named agents (`… with aider`). */
  agent?: string;
  /** The request as written (Slack formatting removed). */
  text: string;
  /** The message to thread under; unset for slash commands (the status message starts the thread). */
  threadTs?: string;
  /** A DM, or a sender from another team: see domain/permissions.ts. */
  sender?: SenderContext;
  /** The request's own message (not for slash commands): it gets the taken/finished reactions. */
  requestTs?: string;
  /** Set when this request runs a finished job again. */
  retryOf?: { jobId: string; link?: string };
  /**
   * A "busy" answer to it would be a message in the channel that the chat can edit later: it joins the
   * channel's burst of refusals (one answer with a count). Unset: answered alone (slash commands' answers are private).
   */
  burstable?: boolean;
  /** The Slack event id (or trigger) that carried the request: the job's logs carry it to the final message. */
  ref?: string;
}

export type RequestOutcome =
  | { kind: 'queued'; job: JobRecord }
  /** `fix #58` without a project: several projects' trackers have #58; the person picks one. */
  | { kind: 'which-project'; issue: number; projects: string[] }
  /**
   * `burst`: the first refusal of a burst in this channel; `othersRefused()` says how many more were refused
   * in it once it is over (the answer is edited to say so). `quiet`: a later one, counted and not answered.
   * `alsoAsked`: how many more asked, once known.
   */
  | { kind: 'busy'; running?: JobRecord; link?: string; burst?: BurstLead; quiet?: true; alsoAsked?: number }
  /** `message` is plain text; `channels` are where to ask instead (shown as channel links). */
  | { kind: 'rejected'; message: string; channels?: string[] };

export interface JobRequestsDeps {
  catalogue: () => Catalogue;
  lock: ChannelLock;
  store: JobStore;
  notifier: JobNotifier & { threadLink(job: JobRecord): Promise<string | undefined> };
  enqueue: (data: QueuedJobData, priority: number) => Promise<void>;
  lockLeaseMs: number;
  logger: Logger;
  /** Whether agents get an inference endpoint (SWITCHBOARD_INFERENCE_URL): the built-in agent needs one. */
  servesInference: () => boolean;
  /** Which of these projects' trackers have the issue (`fix #58` without a project); absent: no lookup. */
  findIssue?: (projects: readonly Project[], issue: number) => Promise<IssueLookupResult>;
  /** The channels' lines for `busy: queue` projects; without it every busy channel refuses. */
  waiting?: Pick<WaitingJobs, 'join' | 'leave'>;
  /** Bursts of refusals, across replicas; absent: every refusal is answered alone. */
  refusals?: Pick<RefusalBursts, 'join'>;
}

const names = (projects: Project[]) => projects.map((p) => `\`${p.name}\``).join(', ');

/** The refusal of `… with <name>` for an agent the project does not have: names the ones it has. */
export function unknownAgentMessage(project: Project, name: string): string {
  const choices = Object.keys(project.agents ?? {});
  return choices.length
    ? `${project.name} has no agent called \`${name}\`. Its agents: ${choices.map((c) => `\`${c}\``).join(', ')}; or leave out \`with ${name}\` for its default agent.`
    : `${project.name} has no named agents, so there is no \`${name}\`. Leave out \`with ${name}\` for its default agent.`;
}

export class JobRequests {
  constructor(private readonly deps: JobRequestsDeps) {}

  /**
   * Which project a request means, or why it can't be known (a user-facing
   * message). A project this person may not use is answered exactly like one
   * that does not exist: replies name only projects the sender may use.
   */
  async resolveProject(
    req: Pick<FixRequest, 'channel' | 'user' | 'issue' | 'project' | 'repo' | 'sender'>,
  ): Promise<{ project: Project } | { message: string } | { candidates: Project[] }> {
    const cat = this.deps.catalogue();
    const sender = req.sender ?? {};
    const usable = projectsFor(cat, req.channel, req.user, sender);
    const offer = usable.length
      ? `Projects you can use here: ${names(usable)}.`
      : 'No project is open to you here; ask whoever runs Switchboard.';
    const open = (p: Project | undefined) => (p !== undefined && mayUse(p, req.user, sender) ? p : undefined);
    if (req.project) {
      const project = open(cat.get(req.project));
      return project ? { project } : { message: `I don't know a project called \`${req.project}\` that you can use. ${offer}` };
    }
    if (req.repo) {
      const project = open(findProjectByRepo(cat, req.repo));
      return project ? { project } : { message: `No project you can use works on \`${req.repo}\`. ${offer}` };
    }
    const pinned = usable.filter((p) => p.channels?.includes(req.channel));
    if (pinned.length === 1 && pinned[0]) return { project: pinned[0] };
    if (usable.length === 1 && usable[0]) return { project: usable[0] };
    if (usable.length === 0) return { message: offer };
    const ask = `Which project? Say \`fix #${req.issue} in <project>\`. ${offer}`;
    // No default here: the one project whose tracker has the issue, else ask which of those that do.
    if (!this.deps.findIssue || !usable.some(lookable)) return { message: ask };
    const { found, unknown } = await this.deps.findIssue(usable, req.issue);
    if (found.length === 1 && found[0]) return { project: found[0] };
    if (found.length > 1) return { candidates: found };
    const unsure = unknown.length ? ` I could not ask the tracker of ${names(unknown)}, so it may be there.` : '';
    const without = usable.filter((p) => !lookable(p));
    const others = without.length
      ? ` ${names(without)} ${without.length === 1 ? 'has' : 'have'} no tracker I can ask: name the project if you meant one of them.`
      : '';
    return {
      message: `No project you can use here has an issue #${req.issue}.${unsure}${others} Say \`fix #${req.issue} in <project>\` to pick one. ${offer}`,
    };
  }

  async request(req: FixRequest): Promise<RequestOutcome> {
    const resolved = await this.resolveProject(req);
    if ('message' in resolved) return { kind: 'rejected', message: resolved.message };
    if ('candidates' in resolved) return { kind: 'which-project', issue: req.issue, projects: resolved.candidates.map((p) => p.name) };
    const { project } = resolved;
    const allowed = mayDispatch(project, req.channel, req.user, req.sender);
    if (!allowed.ok) return { kind: 'rejected', message: allowed.reason, ...(allowed.channels ? { channels: allowed.channels } : {}) };
    const named = req.agent === undefined ? undefined : namedAgent(project, req.agent);
    if (req.agent !== undefined && !named) return { kind: 'rejected', message: unknownAgentMessage(project, req.agent) };
    const agent = named?.agent ?? project.agent;
    if ('backend' in agent && !this.deps.servesInference()) {
      // The built-in agent's only model is the dispatcher's inference endpoint: without one it could not take a step.
      return {
        kind: 'rejected',
        message: `${project.name}${named ? `'s agent ${named.name}` : ''} uses the built-in \`${agent.backend}\` agent, but this Switchboard serves no inference (no Ollama endpoint is configured). Ask whoever runs Switchboard to set OLLAMA_URL, or give the project an \`agent.command\`.`,
      };
    }

    const jobId = newJobId();
    const lock = await this.deps.lock.acquire(req.channel, jobId, this.deps.lockLeaseMs);
    // `busy: queue`: instead of a refusal, the job waits in the channel's line (jobs/waiting-jobs.ts).
    const waits = !lock.acquired && project.busy === 'queue' && this.deps.waiting !== undefined;
    if (!lock.acquired && !waits) {
      // Before any lookup: in a burst of 999, only the first refusal reads the job and asks for its link.
      const place = req.burstable && this.deps.refusals ? await this.deps.refusals.join(req.channel).catch(() => undefined) : undefined;
      if (place && !place.leader) return { kind: 'busy', quiet: true };
      const running = await this.deps.store.get(lock.holder);
      const link = running ? await this.deps.notifier.threadLink(running).catch(() => undefined) : undefined;
      return { kind: 'busy', running, link, ...(place?.leader ? { burst: place.lead } : {}) };
    }

    let job: JobRecord = newJob({
      id: jobId,
      project: project.name,
      issue: req.issue,
      request: req.text,
      ...(named ? { agent: named.name } : {}),
      channel: req.channel,
      user: req.user,
      threadTs: req.threadTs,
      ...(req.requestTs ? { requestTs: req.requestTs } : {}),
      ...(req.retryOf ? { retryOf: req.retryOf } : {}),
      ...(req.sender?.external ? { external: true } : {}),
      ...(req.ref ? { requestRef: req.ref } : {}),
      createdAt: Date.now(),
    });
    const log = jobLogger(this.deps.logger, job).child({ channel: req.channel, project: project.name });
    try {
      await this.deps.store.save(job);
      const statusTs = await this.deps.notifier.postStatus(job);
      job = { ...job, statusTs, threadTs: job.threadTs ?? statusTs };
      await this.deps.store.save(job);
      await this.deps.store.indexThread(job);
      if (waits && this.deps.waiting) {
        const joined = await this.deps.waiting.join(job);
        if (!joined.took) return { kind: 'queued', job: joined.job };
      }
      await this.deps.enqueue({ jobId, channel: req.channel }, project.priority);
    } catch (err) {
      const reason = err instanceof UserFacingError ? err.userText : `could not be queued (${internalError(jobId)})`;
      await this.deps.store.save(failJob(job, reason ?? 'could not be queued', Date.now())).catch(() => undefined);
      await this.deps.lock.release(req.channel, jobId);
      if (waits) await this.deps.waiting?.leave(job).catch(() => false);
      if (err instanceof UserFacingError && err.userText !== undefined) return { kind: 'rejected', message: err.userText };
      log.error({ err }, 'could not queue the job');
      return {
        kind: 'rejected',
        message: `I couldn't start that job (${internalError(jobId)}). Nothing is running; try again in a moment.`,
      };
    }
    log.info({ issue: req.issue, user: req.user }, 'job queued');
    // 👀 on the request: taken. Best effort; the status message already says so.
    void this.deps.notifier.markRequest?.(job, 'taken').catch((err: unknown) => log.warn({ err }, 'could not mark the request as taken'));
    return { kind: 'queued', job };
  }
}

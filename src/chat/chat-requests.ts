// What the bot answers to anything said to it. Platform-neutral: listeners
// hand in text and identities, and render the reply they get back.
import { isAddressed, MAX_MESSAGE_LENGTH, normalizeSlackText, parseIntent, type Intent } from '../domain/intents.js';
import type { JobRecord } from '../domain/job.js';
import type { Catalogue } from '../domain/project.js';
import { projectsFor } from '../domain/permissions.js';
import type { ChannelLock } from '../state/channel-lock.js';
import type { JobStore } from '../state/job-store.js';
import type { JobRequests } from '../jobs/job-requests.js';
import type { JobControl } from '../jobs/job-control.js';
import type { FreeTextConfirmations } from './free-text.js';
import type { ChatRequest, Reply } from './replies.js';

/**
 * Text said in a job's thread that is no command (`cancel`, `retry`, …): a
 * follow-up for the agent, an answer to its question. Returns the reply, or
 * undefined to pass it on to the next handler (the last one leaves it unanswered).
 */
export type ThreadTextHandler = (said: { req: ChatRequest; job: JobRecord; intent: Intent; text: string }) => Promise<Reply | undefined>;

export interface ChatRequestsDeps {
  jobs: JobRequests;
  catalogue: () => Catalogue;
  lock: ChannelLock;
  store: JobStore;
  threadLink: (job: JobRecord) => Promise<string | undefined>;
  /** Cancel, Retry and list. */
  control: JobControl;
  /** Free text the grammar does not understand → the light inference route (unset: the route is off). */
  freeText?: FreeTextConfirmations;
}

export class ChatRequests {
  private readonly threadText: ThreadTextHandler[] = [];

  constructor(private readonly deps: ChatRequestsDeps) {}

  /** Adds a handler for other text in a job's thread; tried in the order added, after the commands. */
  onThreadText(handler: ThreadTextHandler): void {
    this.threadText.push(handler);
  }

  /** Like handle(), but a failure becomes an "internal error, ref X" reply after `onError` has logged it. */
  async answer(req: ChatRequest, ref: string, onError: (err: Error) => void): Promise<Reply> {
    try {
      return await this.handle(req);
    } catch (err) {
      onError(err as Error);
      return { kind: 'internal-error', ref };
    }
  }

  async handle(req: ChatRequest): Promise<Reply> {
    // Before any parsing: a huge message costs nothing, and chatter stays unanswered.
    if (req.text.length > MAX_MESSAGE_LENGTH) {
      return isAddressed(req.text, req) ? { kind: 'too-long', length: req.text.length, limit: MAX_MESSAGE_LENGTH } : { kind: 'silent' };
    }
    // parseIntent normalizes by itself; `text` is the request as stored and shown.
    const text = normalizeSlackText(req.text, req.botUserId);
    const intent = parseIntent(req.text, { addressed: req.addressed, botUserId: req.botUserId });
    if (
      (intent.kind === 'ignore' || intent.kind === 'unknown') &&
      this.threadText.length &&
      req.threadTs &&
      req.messageTs &&
      req.threadTs !== req.messageTs
    ) {
      const job = await this.deps.store.byThread(req.channel, req.threadTs);
      for (const handler of job ? this.threadText : []) {
        const reply = await handler({ req, job: job as JobRecord, intent, text });
        if (reply) return reply;
      }
    }
    switch (intent.kind) {
      case 'ignore':
        return { kind: 'silent' };
      case 'help':
        return { kind: 'help' };
      case 'unknown': {
        // The light route may read it; what it reads is shown with Run and Cancel, and nothing runs yet.
        const usable = () => projectsFor(this.deps.catalogue(), req.channel, req.user, req.sender).map((p) => p.name);
        const reading = await this.deps.freeText?.interpret(
          { text, channel: req.channel, user: req.user, threadTs: req.threadTs, sender: req.sender },
          usable(),
        );
        return reading ?? { kind: 'not-understood', text: intent.text, hint: intent.hint };
      }
      case 'fix':
        return this.deps.jobs.request({
          channel: req.channel,
          user: req.user,
          issue: intent.issue,
          project: intent.project,
          repo: intent.repo,
          ...(intent.agent !== undefined ? { agent: intent.agent } : {}),
          text,
          threadTs: req.threadTs,
          ...(req.messageTs ? { requestTs: req.messageTs } : {}),
          sender: req.sender,
          ...(req.burstable ? { burstable: true } : {}),
          ...(req.ref ? { ref: req.ref } : {}),
        });
      case 'projects':
        return {
          kind: 'projects',
          projects: projectsFor(this.deps.catalogue(), req.channel, req.user, req.sender).map((p) => ({
            name: p.name,
            ...(p.tracker ? { tracker: p.tracker.repo } : {}),
          })),
        };
      case 'status': {
        const holder = await this.deps.lock.holder(req.channel);
        const job = holder ? await this.deps.store.get(holder) : undefined;
        return { kind: 'status', job, link: job ? await this.deps.threadLink(job).catch(() => undefined) : undefined };
      }
      case 'cancel':
        return this.deps.control.cancel({ channel: req.channel, ...(req.threadTs ? { threadTs: req.threadTs } : {}) }, req.user);
      case 'retry':
        return this.deps.control.retry({ channel: req.channel, ...(req.threadTs ? { threadTs: req.threadTs } : {}) }, req.user, req.sender);
      case 'list':
        return this.deps.control.list(req.user, req.sender);
    }
  }
}

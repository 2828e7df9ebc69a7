// What the bot answers to anything said to it. Platform-neutral: listeners
// hand in text and identities, and render the reply they get back.
import { helpText, isAddressed, MAX_MESSAGE_LENGTH, normalizeSlackText, parseIntent } from '../domain/intents.js';
import type { JobRecord } from '../domain/job.js';
import type { Catalogue } from '../domain/project.js';
import { projectsFor, type SenderContext } from '../domain/permissions.js';
import type { ChannelLock } from '../state/channel-lock.js';
import type { JobStore } from '../state/job-store.js';
import type { JobRequests, RequestOutcome } from './job-requests.js';

export interface ChatRequest {
  text: string;
  channel: string;
  user: string;
  /** True for an @mention, a DM or the slash command. */
  addressed: boolean;
  /** Message to reply under (unset for slash commands). */
  threadTs?: string;
  botUserId?: string;
  /** A DM, or a sender from another team (Slack Connect): see domain/permissions.ts. */
  sender?: SenderContext;
}

export type Reply =
  | { kind: 'silent' }
  | { kind: 'help'; text: string }
  | { kind: 'not-understood'; text: string; hint?: string }
  | { kind: 'info'; text: string }
  /** Refused unread: longer than MAX_MESSAGE_LENGTH. */
  | { kind: 'too-long'; length: number; limit: number }
  | { kind: 'status'; job?: JobRecord; link?: string }
  /** Something broke on our side; `ref` finds the log line. Nothing was started. */
  | { kind: 'internal-error'; ref: string }
  | RequestOutcome;

export interface ChatRequestsDeps {
  jobs: JobRequests;
  catalogue: () => Catalogue;
  lock: ChannelLock;
  store: JobStore;
  threadLink: (job: JobRecord) => Promise<string | undefined>;
}

export class ChatRequests {
  constructor(private readonly deps: ChatRequestsDeps) {}

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
    switch (intent.kind) {
      case 'ignore':
        return { kind: 'silent' };
      case 'help':
        return { kind: 'help', text: helpText() };
      case 'unknown':
        return { kind: 'not-understood', text: intent.text, hint: intent.hint };
      case 'fix':
        return this.deps.jobs.request({
          channel: req.channel,
          user: req.user,
          issue: intent.issue,
          project: intent.project,
          repo: intent.repo,
          text,
          threadTs: req.threadTs,
          sender: req.sender,
        });
      case 'projects': {
        const usable = projectsFor(this.deps.catalogue(), req.channel, req.user, req.sender);
        return {
          kind: 'info',
          text: usable.length
            ? `Projects you can start here:\n${usable.map((p) => `• \`${p.name}\`${p.tracker ? ` (${p.tracker.repo})` : ''}`).join('\n')}`
            : 'No project is open to you in this channel. Ask whoever runs Switchboard to add it to the project catalogue.',
        };
      }
      case 'status': {
        const holder = await this.deps.lock.holder(req.channel);
        const job = holder ? await this.deps.store.get(holder) : undefined;
        return { kind: 'status', job, link: job ? await this.deps.threadLink(job).catch(() => undefined) : undefined };
      }
      case 'cancel':
      case 'list':
      case 'retry':
        return { kind: 'info', text: `\`${intent.kind}\` is not available in this version of Switchboard yet. Say \`help\` for what works.` };
    }
  }
}

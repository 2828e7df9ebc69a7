// The Web API: POST (or GET) /api/<method>. Checks what Slack checks, in
// Slack's order: token, token type, rate limit, arguments, Block Kit; answers
// HTTP 200 with ok:false for API errors and HTTP 429 + Retry-After when a
// method's rate limit is exceeded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateBlocks, LIMITS } from './block-kit.js';
import { METHOD_SPECS } from './method-specs.js';
import { RateLimiter } from './rate-limits.js';
import { CHANNEL_ID, channelTypeOf, type Workspace } from './workspace.js';
import type { RecordedCall, RecordedMessage } from './types.js';

export interface WebApiConfig {
  botToken: string;
  appToken: string;
  teamId: string;
  teamDomain: string;
  botUserId: string;
  botId: string;
  appId: string;
  /** Fixed Retry-After; unset: the seconds until the limit frees a slot (rounded up, at least 1). */
  retryAfterSeconds?: number;
  /** More workspaces the app is installed in: their bot token → team id. Each has its own rate limits. */
  otherWorkspaces: Record<string, string>;
  /** Issues a Socket Mode URL (apps.connections.open). */
  openConnection: () => string;
}

type Args = Record<string, unknown>;
type Result = Record<string, unknown>;

class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly messages: string[] = [],
    readonly extra: Result = {},
  ) {
    super(code);
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export class WebApi {
  readonly calls: RecordedCall[] = [];
  private readonly limiter: RateLimiter;
  /** An outage or storm the test switched on (SlackEmulator.setFault); every matching call gets it. */
  fault?: WebApiFault;

  constructor(
    private readonly cfg: WebApiConfig,
    private readonly ws: Workspace,
    limits: { overrides: Record<string, number>; windowMs: number; timeScale: number },
  ) {
    this.limiter = new RateLimiter(limits);
  }

  async handle(req: IncomingMessage, res: ServerResponse, method: string, query: URLSearchParams): Promise<void> {
    const raw = await readBody(req);
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    const args: Args = Object.fromEntries(query.entries());
    let bodyToken: string | undefined = str(args.token);
    let status = 200;
    let body: Result;
    const at = Date.now();
    let team: string | undefined;
    let retryAfter = 0;
    try {
      if (raw.length > 0) {
        if (contentType.startsWith('application/json')) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw);
          } catch {
            throw new ApiError('invalid_json');
          }
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ApiError('json_not_object');
          // Slack ignores a token inside a JSON body: JSON callers must use the Authorization header.
          const { token: _ignored, ...rest } = parsed as Args;
          Object.assign(args, rest);
        } else if (contentType.startsWith('application/x-www-form-urlencoded') || contentType === '') {
          const form = new URLSearchParams(raw);
          for (const [k, v] of form.entries()) args[k] = v;
          bodyToken = str(args.token) ?? bodyToken;
        } else {
          throw new ApiError('invalid_post_type');
        }
      }
      const fault = this.fault;
      if (fault && (!fault.methods || fault.methods.includes(method))) {
        if ('error' in fault) throw new ApiError(fault.error);
        status = fault.status;
        if (fault.status === 429) {
          retryAfter = fault.retryAfterSeconds;
          throw new ApiError('ratelimited');
        }
        // Slack's 5xx pages are not its JSON: the client sees an HTTP error.
        this.calls.push({ seq: this.calls.length, at, method, args: {}, status, ok: false, error: `http_${status}` });
        res.writeHead(status, { 'content-type': 'text/html' }).end('<html><body>Slack is having trouble</body></html>');
        return;
      }
      team = this.authenticate(method, req.headers.authorization, bodyToken);
      const spec = METHOD_SPECS[method];
      if (!spec) throw new ApiError('unknown_method');
      const limit = this.limiter.take(team, method, str(args.channel), at);
      if (!limit.ok) {
        status = 429;
        retryAfter = this.cfg.retryAfterSeconds ?? Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
        throw new ApiError('ratelimited');
      }
      body = { ok: true, ...this.dispatch(method, args) };
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      body = { ok: false, error: err.code, ...err.extra };
      if (err.messages.length > 0) body.response_metadata = { messages: err.messages.map((m) => `[ERROR] ${m}`) };
    }
    const { token: _t, ...recordedArgs } = args;
    this.calls.push({
      seq: this.calls.length,
      at,
      ...(team ? { team } : {}),
      method,
      args: recordedArgs,
      status,
      ok: body.ok === true,
      ...(body.ok === true ? {} : { error: String(body.error) }),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (status === 429) headers['retry-after'] = String(retryAfter);
    res.writeHead(status, headers).end(JSON.stringify(body));
  }

  /** Checks the token; returns the workspace (team id) it belongs to. */
  private authenticate(method: string, authorization: string | undefined, bodyToken: string | undefined): string {
    const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const token = bearer ?? bodyToken;
    if (!token) throw new ApiError('not_authed');
    const other = this.cfg.otherWorkspaces[token];
    const kind = token === this.cfg.botToken || other !== undefined ? 'bot' : token === this.cfg.appToken ? 'app' : undefined;
    if (!kind) throw new ApiError('invalid_auth');
    const wanted = METHOD_SPECS[method]?.token ?? 'bot';
    if (kind !== wanted) throw new ApiError('not_allowed_token_type');
    return other ?? this.cfg.teamId;
  }

  private dispatch(method: string, args: Args): Result {
    for (const r of METHOD_SPECS[method]?.required ?? []) {
      const v = str(args[r.name]);
      if (v === undefined || v === '') {
        throw new ApiError(r.error, [`missing required field: ${r.name}`]);
      }
    }
    const channel = str(args.channel);
    if (channel !== undefined && !CHANNEL_ID.test(channel)) throw new ApiError('channel_not_found');
    switch (method) {
      case 'auth.test':
        return {
          url: `https://${this.cfg.teamDomain}.slack.com/`,
          team: 'Emulated Workspace',
          user: 'switchboard',
          team_id: this.cfg.teamId,
          user_id: this.cfg.botUserId,
          bot_id: this.cfg.botId,
          is_enterprise_install: false,
        };
      case 'apps.connections.open':
        return { url: this.cfg.openConnection() };
      case 'chat.postMessage':
        return this.postMessage(channel as string, args);
      case 'chat.update':
        return this.update(channel as string, args);
      case 'chat.postEphemeral':
        return this.postEphemeral(channel as string, args);
      case 'chat.getPermalink':
        return this.permalink(channel as string, str(args.message_ts) as string);
      case 'chat.delete':
        return this.deleteMessage(channel as string, str(args.ts) as string);
      case 'conversations.info':
        return { channel: this.channelInfo(channel as string) };
      case 'reactions.add':
        return this.react(channel as string, str(args.timestamp) as string, str(args.name) as string);
      case 'users.info':
        return { user: this.userInfo(str(args.user) as string) };
      default:
        throw new ApiError('unknown_method');
    }
  }

  /** Parses JSON-encoded `blocks`/`attachments`, checks text length and Block Kit. */
  private content(args: Args, requireContent: boolean): { text?: string; blocks?: unknown[]; attachments?: unknown[] } {
    const out: { text?: string; blocks?: unknown[]; attachments?: unknown[] } = {};
    const text = str(args.text);
    if (text !== undefined) out.text = text;
    if (args.blocks !== undefined && args.blocks !== '') {
      let blocks: unknown = args.blocks;
      if (typeof blocks === 'string') {
        try {
          blocks = JSON.parse(blocks);
        } catch {
          throw new ApiError('invalid_blocks_format', ['blocks must be a JSON-encoded array']);
        }
      }
      if (!Array.isArray(blocks)) throw new ApiError('invalid_blocks_format', ['blocks must be an array']);
      args.blocks = blocks;
      const errors = validateBlocks(blocks);
      if (errors.length > 0) throw new ApiError('invalid_blocks', errors, { errors });
      out.blocks = blocks;
    }
    if (args.attachments !== undefined && args.attachments !== '') {
      let att: unknown = args.attachments;
      if (typeof att === 'string') {
        try {
          att = JSON.parse(att);
        } catch {
          throw new ApiError('invalid_attachments');
        }
      }
      if (!Array.isArray(att)) throw new ApiError('invalid_attachments');
      if (att.length > 100) throw new ApiError('too_many_attachments');
      args.attachments = att;
      out.attachments = att;
    }
    if (requireContent && (out.text === undefined || out.text === '') && !out.blocks?.length && !out.attachments?.length) {
      throw new ApiError('no_text');
    }
    if (out.text !== undefined && out.text.length > LIMITS.messageText) throw new ApiError('msg_too_long');
    return out;
  }

  private messageJson(m: RecordedMessage): Result {
    return {
      type: 'message',
      ...(m.bot_id ? { bot_id: m.bot_id, app_id: this.cfg.appId } : {}),
      user: m.user,
      text: m.text ?? '',
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ts: m.ts,
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      team: this.cfg.teamId,
      ...(m.updates > 0 ? { edited: { user: m.user, ts: m.ts } } : {}),
    };
  }

  private postMessage(channel: string, args: Args): Result {
    const content = this.content(args, true);
    const threadTs = str(args.thread_ts);
    const m = this.ws.add({
      channel,
      ts: this.ws.nextTs(),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(content.text !== undefined ? { text: content.text } : {}),
      ...(content.blocks ? { blocks: content.blocks } : {}),
      user: this.cfg.botUserId,
      bot_id: this.cfg.botId,
    });
    return { channel, ts: m.ts, message: this.messageJson(m) };
  }

  private update(channel: string, args: Args): Result {
    const ts = str(args.ts) as string;
    const m = this.ws.get(channel, ts);
    if (!m) throw new ApiError('message_not_found');
    if (m.user !== this.cfg.botUserId) throw new ApiError('cant_update_message');
    const content = this.content(args, true);
    m.history.push({
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.blocks ? { blocks: m.blocks } : {}),
    });
    m.updates += 1;
    // Like Slack: fields not given keep their value, except that new text without blocks keeps the old blocks.
    if (content.text !== undefined) m.text = content.text;
    if (content.blocks) m.blocks = content.blocks;
    return { channel, ts, text: m.text ?? '', message: this.messageJson(m) };
  }

  private postEphemeral(channel: string, args: Args): Result {
    const content = this.content(args, true);
    const messageTs = this.ws.nextTs();
    const threadTs = str(args.thread_ts);
    this.ws.ephemerals.push({
      channel,
      user: str(args.user) as string,
      message_ts: messageTs,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(content.text !== undefined ? { text: content.text } : {}),
      ...(content.blocks ? { blocks: content.blocks } : {}),
    });
    return { message_ts: messageTs };
  }

  private permalink(channel: string, ts: string): Result {
    const m = this.ws.get(channel, ts);
    if (!m) throw new ApiError('message_not_found');
    let permalink = `https://${this.cfg.teamDomain}.slack.com/archives/${channel}/p${ts.replace('.', '')}`;
    if (m.thread_ts && m.thread_ts !== m.ts) permalink += `?thread_ts=${m.thread_ts}&cid=${channel}`;
    return { channel, permalink };
  }

  /** Like Slack: the message must exist, the name be an emoji name (no colons), and the bot may add each reaction once. */
  private react(channel: string, ts: string, name: string): Result {
    const m = this.ws.get(channel, ts);
    if (!m) throw new ApiError('message_not_found');
    if (!/^[a-z0-9_+'-]{1,100}$/.test(name)) throw new ApiError('invalid_name');
    m.reactions ??= [];
    let r = m.reactions.find((x) => x.name === name);
    if (!r) m.reactions.push((r = { name, users: [] }));
    if (r.users.includes(this.cfg.botUserId)) throw new ApiError('already_reacted');
    r.users.push(this.cfg.botUserId);
    return {};
  }

  private deleteMessage(channel: string, ts: string): Result {
    const m = this.ws.get(channel, ts);
    if (!m) throw new ApiError('message_not_found');
    if (m.user !== this.cfg.botUserId) throw new ApiError('cant_delete_message');
    this.ws.delete(channel, ts);
    return { channel, ts };
  }

  /** Every user exists; names are made from the id (`U0ALICE` → `emulated-u0alice`), like channels'. */
  private userInfo(user: string): Result {
    const name = `emulated-${user.toLowerCase()}`;
    return {
      id: user,
      team_id: this.cfg.teamId,
      name,
      deleted: false,
      real_name: `Emulated ${user}`,
      is_bot: false,
      profile: {
        display_name: name,
        real_name: `Emulated ${user}`,
        display_name_normalized: name,
        real_name_normalized: `Emulated ${user}`,
      },
    };
  }

  private channelInfo(channel: string): Result {
    const type = channelTypeOf(channel);
    return {
      id: channel,
      name: type === 'im' ? undefined : `emulated-${channel.toLowerCase()}`,
      is_channel: type === 'channel',
      is_group: type === 'group',
      is_im: type === 'im',
      is_mpim: false,
      is_private: type !== 'channel',
      is_archived: false,
      is_general: false,
      is_member: true,
      is_ext_shared: false,
      created: 1_700_000_000,
      context_team_id: this.cfg.teamId,
      ...(type === 'im' ? { user: 'U0TESTUSER' } : {}),
    };
  }
}

/**
 * A fault the Web API answers with instead of doing its work: HTTP 500/503, a
 * 429 storm with a fixed Retry-After, or an API error (`token_revoked`, say).
 * `methods` limits it to some methods; default all.
 */
export type WebApiFault = ({ status: 500 | 503 } | { status: 429; retryAfterSeconds: number } | { error: string }) & { methods?: string[] };

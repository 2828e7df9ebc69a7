// A local Slack for tests: the Web API over real HTTP, Socket Mode over a real
// WebSocket, HTTP-mode delivery with signed requests, response_url, rate
// limits and Block Kit checks. Real @slack/bolt and @slack/web-api clients
// talk to it unchanged (point `slackApiUrl` at `emu.apiUrl`).
//
// Not emulated, on purpose: bot-posted messages are recorded but NOT echoed
// back to the app as `message` events; retries happen at once instead of
// Slack's 1 min / 5 min back-off; no OAuth, no files, no views.
//
// Shut down in this order: `await app.stop()` first, then `await emu.close()`
// (a Socket Mode client whose server vanishes tries to reconnect).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postToApp, signRequest } from './http-delivery.js';
import { blockActionsPayload, eventCallback, slashCommandBody, type Identity } from './payloads.js';
import { SocketHub, type Envelope } from './socket-mode.js';
import { readBody, WebApi, type WebApiFault } from './web-api.js';
export type { WebApiFault } from './web-api.js';
import { channelTypeOf, Workspace } from './workspace.js';
import type {
  DeliveryAttempt,
  DeliveryKind,
  EmulatorOptions,
  RecordedCall,
  RecordedEphemeral,
  RecordedMessage,
  RecordedResponse,
} from './types.js';

export { signRequest } from './http-delivery.js';
export { validateBlocks, LIMITS as BLOCK_KIT_LIMITS } from './block-kit.js';
export { METHOD_SPECS, TIER_LIMITS } from './method-specs.js';
export type * from './types.js';

type Attempt = { ok: true; body: unknown } | { ok: false; reason: string };

export class SlackEmulator {
  readonly apiUrl: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly signingSecret: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  /** Every Web API call, in arrival order (429s included). */
  readonly calls: RecordedCall[];
  /** Every attempt to hand something to the app, in order. */
  readonly deliveries: DeliveryAttempt[] = [];

  private readonly ws = new Workspace();
  private readonly hub: SocketHub;
  private readonly api: WebApi;
  private readonly identity: Identity;
  private readonly ackTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly closing = new AbortController();
  private readonly base: string;
  private requestUrl: string | undefined;

  private constructor(
    private readonly server: Server,
    opts: EmulatorOptions,
  ) {
    const port = (server.address() as AddressInfo).port;
    this.base = opts.publicBase ?? `127.0.0.1:${port}`;
    this.apiUrl = `http://${this.base}/api/`;
    this.botToken = opts.botToken ?? 'xoxb-test-bot-token';
    this.appToken = opts.appToken ?? 'xapp-1-test-app-token';
    this.signingSecret = opts.signingSecret ?? 'test-signing-secret';
    this.teamId = opts.teamId ?? 'T0TEST';
    this.botUserId = opts.botUserId ?? 'U0BOT';
    this.botId = opts.botId ?? 'B0BOT';
    this.appId = opts.appId ?? 'A0TEST';
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 3000;
    this.maxRetries = opts.maxRetries ?? 3;
    this.identity = {
      teamId: this.teamId,
      teamDomain: 'emulated',
      appId: this.appId,
      botUserId: this.botUserId,
      verificationToken: 'emulated-verification-token',
    };
    this.hub = new SocketHub(this.appId);
    this.api = new WebApi(
      {
        botToken: this.botToken,
        appToken: this.appToken,
        teamId: this.teamId,
        teamDomain: this.identity.teamDomain,
        botUserId: this.botUserId,
        botId: this.botId,
        appId: this.appId,
        ...(opts.retryAfterSeconds !== undefined ? { retryAfterSeconds: opts.retryAfterSeconds } : {}),
        otherWorkspaces: opts.otherWorkspaces ?? {},
        openConnection: () => this.hub.issueUrl(`ws://${this.base}`),
      },
      this.ws,
      { overrides: opts.rateLimits ?? {}, windowMs: opts.rateWindowMs ?? 60_000 / (opts.timeScale ?? 1), timeScale: opts.timeScale ?? 1 },
    );
    this.calls = this.api.calls;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => this.hub.handleUpgrade(req, socket, head));
  }

  /** Switches a Web API fault on (500s, a 429 storm, an API error such as token_revoked), or off with undefined. */
  setFault(fault: WebApiFault | undefined): void {
    if (fault) this.api.fault = fault;
    else delete this.api.fault;
  }

  static async start(opts: EmulatorOptions = {}): Promise<SlackEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.listenHost ?? '127.0.0.1', () => resolve());
    });
    return new SlackEmulator(server, opts);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${this.base}`);
    const api = url.pathname.match(/^\/api\/([A-Za-z0-9_.]+)$/);
    if (api?.[1]) {
      await this.api.handle(req, res, api[1], url.searchParams);
      return;
    }
    if (/^\/response\/[\w-]+$/.test(url.pathname) && req.method === 'POST') {
      const raw = await readBody(req);
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // Slack accepts only JSON here; keep the raw text so a test can see what was sent.
      }
      this.ws.responses.push({ url: url.toString(), body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  // ---- what the app did -------------------------------------------------

  /** Bot-posted and user messages, in ts order; `thread_ts` selects a thread (parent included). */
  messages(filter?: { channel?: string; thread_ts?: string }): RecordedMessage[] {
    return this.ws.list(filter);
  }

  ephemerals(filter: { channel?: string; user?: string } = {}): RecordedEphemeral[] {
    return this.ws.ephemerals.filter(
      (e) => (filter.channel === undefined || e.channel === filter.channel) && (filter.user === undefined || e.user === filter.user),
    );
  }

  /** What the app POSTed to response_url, in order. */
  responses(): RecordedResponse[] {
    return [...this.ws.responses];
  }

  socketConnections(): number {
    return this.hub.connections();
  }

  /** Polls `probe` every 25 ms until it returns a truthy value. */
  async waitFor<T>(probe: () => T | undefined | null | false, opts: { timeoutMs?: number; what?: string } = {}): Promise<T> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const v = probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(this.dump(`timed out waiting for ${opts.what ?? 'condition'}`));
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** A readable summary of recent state, for failure messages. */
  dump(headline: string): string {
    const msgs = this.ws
      .list()
      .slice(-15)
      .map(
        (m) =>
          `  ${m.channel} ts=${m.ts}${m.thread_ts ? ` thread=${m.thread_ts}` : ''} ${m.bot_id ? 'bot' : m.user}: ${JSON.stringify(m.text ?? '').slice(0, 120)}${m.blocks ? ` [${m.blocks.length} blocks]` : ''}`,
      );
    const calls = this.calls
      .slice(-15)
      .map((c) => `  ${c.method} ${c.status} ${c.ok ? 'ok' : c.error} ${JSON.stringify(c.args).slice(0, 160)}`);
    const dels = this.deliveries.slice(-10).map((d) => `  ${d.kind} ${d.transport} attempt=${d.attempt} ${d.outcome}`);
    return [
      `SlackEmulator: ${headline}`,
      `messages (last ${msgs.length}):`,
      ...msgs,
      `web api calls (last ${calls.length}):`,
      ...calls,
      `deliveries (last ${dels.length}):`,
      ...dels,
      `socket connections: ${this.hub.connections()}, request URL: ${this.requestUrl ?? '(none)'}`,
    ].join('\n');
  }

  // ---- delivery to the app ----------------------------------------------

  setRequestUrl(url: string): void {
    this.requestUrl = url;
  }

  /**
   * A person's message, delivered as a `message` event (and `app_mention` when it mentions the bot).
   * `subtype` makes it one of Slack's message subtypes (`me_message`, `thread_broadcast`, …), which
   * carry a user and text like a plain message.
   */
  async userSays(m: {
    channel: string;
    user: string;
    text: string;
    thread_ts?: string;
    channel_type?: 'channel' | 'im' | 'group';
    subtype?: string;
    /** The sender's own team, for a Slack Connect user of another organisation (as Slack sends it: `user_team`, and `team`). */
    user_team?: string;
  }): Promise<{ event_id: string; ts: string; mention_event_id?: string }> {
    const ts = this.ws.nextTs();
    this.ws.add({ channel: m.channel, ts, text: m.text, user: m.user, ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}) });
    const common = {
      ...(m.subtype ? { subtype: m.subtype } : {}),
      user: m.user,
      text: m.text,
      ts,
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(m.thread_ts && this.ws.get(m.channel, m.thread_ts)?.user ? { parent_user_id: this.ws.get(m.channel, m.thread_ts)?.user } : {}),
      channel: m.channel,
      event_ts: ts,
      team: m.user_team ?? this.teamId,
      ...(m.user_team ? { user_team: m.user_team, source_team: m.user_team } : {}),
      client_msg_id: randomUUID(),
    };
    const event_id = this.ws.nextEventId();
    const messageEvent = { type: 'message', ...common, channel_type: m.channel_type ?? channelTypeOf(m.channel) };
    await this.deliver('events_api', eventCallback(this.identity, messageEvent, event_id), `message event ${event_id}`);
    if (!m.text.includes(`<@${this.botUserId}>`)) return { event_id, ts };
    const mention_event_id = this.ws.nextEventId();
    await this.deliver(
      'events_api',
      eventCallback(this.identity, { type: 'app_mention', ...common }, mention_event_id),
      `app_mention event ${mention_event_id}`,
    );
    return { event_id, ts, mention_event_id };
  }

  /**
   * Another app's bot posts in a channel (a CI bot, say): a `message` event with its `bot_id`,
   * `app_id` and bot user, as Slack sends for chat.postMessage by a bot token (no subtype).
   */
  async otherBotSays(m: {
    channel: string;
    text: string;
    botId?: string;
    botUserId?: string;
    appId?: string;
  }): Promise<{ event_id: string; ts: string }> {
    const ts = this.ws.nextTs();
    const botId = m.botId ?? 'B0OTHERBOT';
    const user = m.botUserId ?? 'U0OTHERBOT';
    this.ws.add({ channel: m.channel, ts, text: m.text, user, bot_id: botId });
    const event = {
      type: 'message',
      user,
      bot_id: botId,
      app_id: m.appId ?? 'A0OTHERAPP',
      bot_profile: { id: botId, app_id: m.appId ?? 'A0OTHERAPP', name: 'other-bot', team_id: this.teamId },
      text: m.text,
      ts,
      channel: m.channel,
      event_ts: ts,
      team: this.teamId,
      channel_type: channelTypeOf(m.channel),
    };
    const event_id = this.ws.nextEventId();
    await this.deliver('events_api', eventCallback(this.identity, event, event_id), `bot message event ${event_id}`);
    return { event_id, ts };
  }

  async slashCommand(c: {
    channel: string;
    user: string;
    text: string;
    command?: string;
  }): Promise<{ ackBody: unknown; response_url: string }> {
    const responseUrl = this.newResponseUrl();
    const body = slashCommandBody(this.identity, { ...c, command: c.command ?? '/switchboard' }, responseUrl, this.ws.triggerId());
    const ackBody = await this.deliver('slash_commands', body, `slash command ${body.command}`);
    return { ackBody, response_url: responseUrl };
  }

  async blockAction(a: {
    channel: string;
    user: string;
    message_ts: string;
    thread_ts?: string;
    action_id: string;
    value?: string;
    block_id?: string;
  }): Promise<{ ackBody: unknown; response_url: string }> {
    const responseUrl = this.newResponseUrl();
    const payload = blockActionsPayload(this.identity, a, this.ws.get(a.channel, a.message_ts), responseUrl, this.ws.triggerId());
    const ackBody = await this.deliver('interactive', payload, `block action ${a.action_id}`);
    return { ackBody, response_url: responseUrl };
  }

  /** Delivers `body` as is (as an events_api envelope, or JSON POST); resolves with the app's answer. */
  deliverRaw(body: object, opts: { retryNum?: number } = {}): Promise<unknown> {
    return this.deliver('events_api', body, 'raw delivery', opts.retryNum ?? 0);
  }

  /** Sends {type:'disconnect', reason} on every connection, then closes them. */
  disconnectSockets(reason: 'refresh_requested' | 'warning' | 'link_disabled' = 'refresh_requested'): void {
    this.hub.disconnectAll(reason);
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.hub.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private newResponseUrl(): string {
    return `http://${this.base}/response/${randomUUID()}`;
  }

  /** Delivers with Slack's retries; resolves with the ack payload / HTTP response body. */
  private async deliver(kind: DeliveryKind, payload: object, what: string, firstAttempt = 0): Promise<unknown> {
    if (this.hub.connections() === 0 && !this.requestUrl && !this.hub.everConnected) {
      throw new Error(this.dump(`cannot deliver ${what}: no Socket Mode connection and no request URL (call setRequestUrl)`));
    }
    const id = randomUUID();
    let reason = '';
    for (let attempt = firstAttempt; attempt <= this.maxRetries; attempt += 1) {
      if (this.closing.signal.aborted) break;
      const useSocket = this.hub.connections() > 0 || !this.requestUrl;
      const result = useSocket
        ? await this.socketAttempt(id, kind, payload, attempt, reason)
        : await this.httpAttempt(id, kind, payload, attempt, reason, this.requestUrl as string);
      if (result.ok) return result.body;
      reason = result.reason;
    }
    throw new Error(this.dump(`${what} was not acknowledged (${this.maxRetries} retries, last reason ${reason || 'emulator closed'})`));
  }

  private async socketAttempt(id: string, kind: DeliveryKind, payload: object, attempt: number, reason: string): Promise<Attempt> {
    const record: DeliveryAttempt = {
      id,
      kind,
      transport: 'socket',
      attempt,
      outcome: 'pending',
      ...(reason ? { retry_reason: reason } : {}),
    };
    this.deliveries.push(record);
    if (!(await this.hub.waitForConnection(this.ackTimeoutMs, this.closing.signal))) {
      record.outcome = this.closing.signal.aborted ? 'cancelled' : 'no_connection';
      return { ok: false, reason: 'timeout' };
    }
    const envelope: Envelope = {
      envelope_id: id,
      type: kind,
      payload,
      accepts_response_payload: kind !== 'events_api',
      retry_attempt: attempt,
      retry_reason: reason,
    };
    const r = await this.hub.deliver(envelope, this.ackTimeoutMs, this.closing.signal);
    if (r.acked) {
      record.outcome = 'acked';
      // The ack payload of an events_api envelope means nothing to Slack; for commands/actions it is the response.
      const body = r.payload && typeof r.payload === 'object' && Object.keys(r.payload).length === 0 ? undefined : r.payload;
      return { ok: true, body };
    }
    record.outcome = this.closing.signal.aborted ? 'cancelled' : 'timeout';
    return { ok: false, reason: 'timeout' };
  }

  private async httpAttempt(
    id: string,
    kind: DeliveryKind,
    payload: object,
    attempt: number,
    reason: string,
    url: string,
  ): Promise<Attempt> {
    const record: DeliveryAttempt = {
      id,
      kind,
      transport: 'http',
      attempt,
      outcome: 'pending',
      ...(reason ? { retry_reason: reason } : {}),
    };
    this.deliveries.push(record);
    let body: string;
    let contentType: string;
    if (kind === 'events_api') {
      body = JSON.stringify(payload);
      contentType = 'application/json';
    } else if (kind === 'slash_commands') {
      body = new URLSearchParams(payload as Record<string, string>).toString();
      contentType = 'application/x-www-form-urlencoded';
    } else {
      body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      contentType = 'application/x-www-form-urlencoded';
    }
    const headers: Record<string, string> = { ...signRequest(this.signingSecret, body) };
    if (attempt > 0) {
      headers['X-Slack-Retry-Num'] = String(attempt);
      headers['X-Slack-Retry-Reason'] = reason || 'http_error';
    }
    const r = await postToApp(url, body, contentType, headers, this.ackTimeoutMs, this.closing.signal);
    if (r.kind === 'response') {
      record.status = r.status;
      if (r.status >= 200 && r.status < 300) {
        record.outcome = 'acked';
        return { ok: true, body: r.body };
      }
      record.outcome = 'http_error';
      return { ok: false, reason: 'http_error' };
    }
    if (r.kind === 'timeout') {
      record.outcome = 'timeout';
      return { ok: false, reason: 'http_timeout' };
    }
    record.outcome = this.closing.signal.aborted ? 'cancelled' : 'http_error';
    return { ok: false, reason: 'connection_failed' };
  }
}

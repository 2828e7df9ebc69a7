// The GPU's slots, shared by every replica through Redis: each endpoint serves
// at most OLLAMA_SLOTS requests at once, whichever replica they came through,
// and the requests waiting for a slot are served in a fair order across jobs.
//
// Fairness is start-time fair queuing by request: every job (tenant) has a
// virtual time that grows by 1/weight per request it is granted; the waiting
// request with the smallest virtual time goes first (a job's second waiting
// request counts one more step), arrival order breaks ties. A job that was
// idle starts at the smallest virtual time of those waiting, so it neither
// saves up credit nor waits behind everyone: nobody starves, and a project
// with a larger weight (priority) gets proportionally more turns.
//
// Holders keep a lease (renewed while they stream) so that a replica that dies
// mid-request frees its slots; waiting tickets expire unless their waiter
// polls, so a dead waiter never blocks the head of the line. A release
// publishes on a channel, and every replica's waiters look again.
import { randomBytes } from 'node:crypto';
import { luaScript } from '../shared/lua.js';
import { ErrorCode } from '../errors.js';
import type { Redis } from 'ioredis';
import { stripUrlCredentials } from '../domain/text.js';

export interface SlotQueueKeys {
  waiting: string;
  tickets: string;
  virtualTime: string;
  seq: string;
  holders(endpoint: string): string;
  released: string;
  /** What the dashboard shows: ticket → BoardEntry (JSON), each with its own expiry. */
  board: string;
}

export function slotQueueKeys(prefix: string): SlotQueueKeys {
  return {
    waiting: `${prefix}inference:waiting`,
    tickets: `${prefix}inference:tickets`,
    virtualTime: `${prefix}inference:vt`,
    seq: `${prefix}inference:seq`,
    holders: (endpoint) => `${prefix}inference:slots:${endpoint}`,
    released: `${prefix}inference:released`,
    board: `${prefix}inference:board`,
  };
}

const ACQUIRE = luaScript(import.meta.url, 'slot-queue-acquire.lua');

const LEAVE = luaScript(import.meta.url, 'slot-queue-leave.lua');

const RENEW = luaScript(import.meta.url, 'slot-queue-renew.lua');

export interface SlotQueueSettings {
  slots: number;
  /** A holder's lease, renewed every third of it while the request runs. */
  leaseMs: number;
  /** A waiting ticket lives this long without a poll. */
  ticketTtlMs: number;
  /** Waiters poll at least this often (releases wake them sooner). */
  pollMs: number;
}

export const DEFAULT_SLOT_SETTINGS: Omit<SlotQueueSettings, 'slots'> = { leaseMs: 30_000, ticketTtlMs: 10_000, pollMs: 1_000 };

export interface SlotRequest {
  /** Whose turn it is: a job id (or 'chat' for the light route's chat reading). */
  tenant: string;
  /** Larger gets more turns; see weightOf. */
  weight: number;
  /** Endpoint URLs that may serve it now, in preference order; read again at each look. */
  endpoints: () => string[];
  signal: AbortSignal;
  /** Called when the request's place in line changes (1 = next). */
  onPosition?: (position: number, waiting: number) => void;
  /** The model asked for, shown on the dashboard's GPU queue. */
  model?: string;
}

/** One request on the dashboard's GPU queue (all replicas). */
export interface BoardEntry {
  jobId: string;
  model: string;
  state: 'running' | 'waiting';
  /** When it started waiting, or started running (ms since the epoch). */
  since: number;
  /** The endpoint that serves it (running only). */
  endpoint?: string;
}

interface StoredBoardEntry extends BoardEntry {
  /** A replica that died leaves its entries behind: each one lapses unless refreshed. */
  until: number;
}

export interface SlotGrant {
  endpoint: string;
  /** How long the request waited in line, ms. */
  waitedMs: number;
  /** Frees the slot (idempotent); returns how long it was held, ms. */
  release(): Promise<number>;
}

export class NoEndpointError extends Error {
  readonly code = ErrorCode.InferenceNoEndpoint;
  constructor() {
    super('no endpoint can take the request now');
    this.name = 'NoEndpointError';
  }
}

/** A job's weight from its project's priority: 0 → 1, +10 → 2, −10 → ½ (clamped to 1/16 … 16). */
export function weightOf(priority: number): number {
  return Math.min(16, Math.max(1 / 16, 2 ** (priority / 10)));
}

export class SlotQueue {
  private readonly wakers = new Set<() => void>();
  private readonly subscriber: Redis;
  private subscribed?: Promise<unknown>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: SlotQueueKeys,
    private readonly settings: SlotQueueSettings,
  ) {
    this.redis.defineCommand('sbSlotAcquire', { lua: ACQUIRE });
    this.redis.defineCommand('sbSlotLeave', { numberOfKeys: 3, lua: LEAVE });
    this.redis.defineCommand('sbSlotRenew', { numberOfKeys: 1, lua: RENEW });
    this.subscriber = redis.duplicate();
    this.subscriber.on('message', () => this.wakeAll());
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /** Waits in line for a slot on one of the request's endpoints. Throws the signal's reason when aborted, NoEndpointError when none is left. */
  async acquire(req: SlotRequest): Promise<SlotGrant> {
    this.subscribed ??= this.subscriber.subscribe(this.keys.released);
    await this.subscribed;
    const ticket = randomBytes(12).toString('hex');
    const t0 = Date.now();
    let lastPosition = 0;
    let wake: () => void = () => undefined;
    const waker = () => wake();
    this.wakers.add(waker);
    const onAbort = () => wake();
    req.signal.addEventListener('abort', onAbort);
    const waitingEntry: BoardEntry = { jobId: req.tenant, model: req.model ?? '', state: 'waiting', since: t0 };
    let boardRefreshAt = 0;
    try {
      for (;;) {
        req.signal.throwIfAborted();
        // The dashboard's entry is refreshed at half its validity, not at every look (a look can come every few ms).
        if (Date.now() >= boardRefreshAt) {
          await this.post(ticket, waitingEntry, this.settings.ticketTtlMs);
          boardRefreshAt = Date.now() + this.settings.ticketTtlMs / 2;
        }
        const endpoints = req.endpoints();
        if (endpoints.length === 0) throw new NoEndpointError();
        const woken = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.settings.pollMs);
          wake = () => (clearTimeout(timer), resolve());
        });
        const [granted, a, b] = (await (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<number[]>>).sbSlotAcquire!(
          4 + endpoints.length,
          this.keys.waiting,
          this.keys.tickets,
          this.keys.virtualTime,
          this.keys.seq,
          ...endpoints.map((e) => this.keys.holders(e)),
          Date.now(),
          ticket,
          req.tenant,
          req.weight,
          this.settings.ticketTtlMs,
          this.settings.leaseMs,
          this.settings.slots,
        )) as [number, number, number?];
        if (granted === 1) {
          wake();
          return this.holding(ticket, endpoints[a - 1]!, Date.now() - t0, req);
        }
        if (a !== lastPosition) {
          lastPosition = a;
          req.onPosition?.(a, b ?? a);
        }
        if (req.signal.aborted) continue;
        await woken;
      }
    } catch (err) {
      await this.leave(ticket, undefined).catch(() => undefined);
      throw err;
    } finally {
      this.wakers.delete(waker);
      req.signal.removeEventListener('abort', onAbort);
    }
  }

  private holding(ticket: string, endpoint: string, waitedMs: number, req: SlotRequest): SlotGrant {
    const since = Date.now();
    const runningEntry: BoardEntry = {
      jobId: req.tenant,
      model: req.model ?? '',
      state: 'running',
      since,
      endpoint: stripUrlCredentials(endpoint),
    };
    void this.post(ticket, runningEntry, this.settings.leaseMs).catch(() => undefined);
    const renew = setInterval(() => {
      void (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>).sbSlotRenew!(
        this.keys.holders(endpoint),
        ticket,
        Date.now() + this.settings.leaseMs,
      ).catch(() => undefined);
      void this.post(ticket, runningEntry, this.settings.leaseMs).catch(() => undefined);
    }, this.settings.leaseMs / 3);
    renew.unref();
    let released: Promise<number> | undefined;
    return {
      endpoint,
      waitedMs,
      release: () => {
        released ??= (async () => {
          clearInterval(renew);
          const held = Date.now() - since;
          await this.leave(ticket, endpoint);
          this.wakeAll(); // local waiters need not wait for the round trip through pub/sub
          return held;
        })();
        return released;
      },
    };
  }

  /** Writes (or refreshes) the request's dashboard entry, valid for `validMs`. */
  private async post(ticket: string, entry: BoardEntry, validMs: number): Promise<void> {
    const stored: StoredBoardEntry = { ...entry, until: Date.now() + validMs };
    await this.redis.hset(this.keys.board, ticket, JSON.stringify(stored));
  }

  /** The GPU queue as the dashboard shows it: running requests first, then the waiting ones, oldest first (all replicas). */
  async board(): Promise<BoardEntry[]> {
    const now = Date.now();
    const live: StoredBoardEntry[] = [];
    const lapsed: string[] = [];
    for (const [ticket, json] of Object.entries(await this.redis.hgetall(this.keys.board))) {
      let entry: StoredBoardEntry | undefined;
      try {
        entry = JSON.parse(json) as StoredBoardEntry;
      } catch {
        entry = undefined;
      }
      if (entry && entry.until >= now) live.push(entry);
      else lapsed.push(ticket);
    }
    if (lapsed.length) await this.redis.hdel(this.keys.board, ...lapsed);
    const order = (e: BoardEntry) => (e.state === 'running' ? 0 : 1);
    return live.sort((a, b) => order(a) - order(b) || a.since - b.since).map(({ until: _until, ...entry }) => entry);
  }

  private async leave(ticket: string, endpoint: string | undefined): Promise<void> {
    await this.redis.hdel(this.keys.board, ticket);
    await (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>).sbSlotLeave!(
      this.keys.waiting,
      this.keys.tickets,
      endpoint === undefined ? `${this.keys.waiting}:none` : this.keys.holders(endpoint),
      ticket,
      this.keys.released,
    );
  }

  /** How many requests hold a slot on `endpoint` right now (all replicas). */
  async holders(endpoint: string): Promise<number> {
    await this.redis.zremrangebyscore(this.keys.holders(endpoint), '-inf', Date.now());
    return this.redis.zcard(this.keys.holders(endpoint));
  }

  /** Requests waiting for a slot (all replicas). */
  async waiting(): Promise<number> {
    return this.redis.zcard(this.keys.waiting);
  }

  /** Drops a finished job's virtual time (it would only age out otherwise). */
  async forget(tenant: string): Promise<void> {
    await this.redis.hdel(this.keys.virtualTime, tenant);
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

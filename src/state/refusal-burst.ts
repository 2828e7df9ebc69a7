// A burst of refusals in one channel (999 people asking a busy channel at
// once, across replicas) becomes one reply with a count, not 999 messages.
// The first refusal of a burst leads: it is answered at once, and once the
// burst is over (no new refusal for `quietMs`, or `maxMs` after it began) its
// answer is edited to say how many more asked. Every later refusal of the
// burst is only counted. The count lives in Redis, so all replicas share it.
import type { Redis } from 'ioredis';
import { luaScript } from '../shared/lua.js';

const JOIN = luaScript(import.meta.url, 'refusal-burst-join.lua');

const LOOK = luaScript(import.meta.url, 'refusal-burst-look.lua');

export interface BurstSettings {
  /** The burst is over when nobody else was refused for this long. */
  quietMs: number;
  /** …or this long after it began, whatever still comes. */
  maxMs: number;
}

export const DEFAULT_BURST: BurstSettings = { quietMs: 2000, maxMs: 20_000 };

/** The leader's handle: how many others were refused in its burst, once it is over. */
export interface BurstLead {
  othersRefused(): Promise<number>;
}

export type BurstPlace = { leader: true; lead: BurstLead } | { leader: false };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RefusalBursts {
  private readonly s: BurstSettings;

  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (channel: string) => string,
    settings: Partial<BurstSettings> = {},
  ) {
    this.s = { ...DEFAULT_BURST, ...settings };
  }

  async join(channel: string): Promise<BurstPlace> {
    const key = this.keyOf(channel);
    const place = Number(await this.redis.eval(JOIN, 1, key, this.safetyMs));
    if (place !== 1) return { leader: false };
    return { leader: true, lead: { othersRefused: () => this.follow(key) } };
  }

  /** Safety lease: a little over one look, so a live leader keeps it and a dead one's burst ends soon. */
  private get safetyMs(): number {
    return this.s.quietMs * 3;
  }

  private async follow(key: string): Promise<number> {
    const began = Date.now();
    let seen = 1;
    for (;;) {
      await sleep(this.s.quietMs);
      const last = Date.now() - began + this.s.quietMs > this.s.maxMs;
      const [count, ended] = (await this.redis.eval(LOOK, 1, key, seen, last ? 1 : 0, this.safetyMs)) as [number, number];
      // A counter that lapsed (Redis lost it) reads 0: the burst is over with what was seen.
      seen = Math.max(seen, Number(count));
      if (Number(ended) === 1) return seen - 1;
    }
  }
}

// The line of jobs waiting for a busy channel (`busy: queue`). The channel
// lock (channel-lock.ts) stays the one truth of "one running job per
// channel": the line only decides who gets the lock next. Joining and handing
// over are single Lua scripts, so a job that joins while the holder finishes
// is never forgotten, and two replicas finishing or sweeping at once never
// start two jobs: the lock passes to exactly one waiting job, in order.
import type { Redis } from 'ioredis';
import { luaScript } from '../shared/lua.js';
import type { Keys } from '../domain/keys.js';

const TAKE_OR_WAIT = luaScript(import.meta.url, 'channel-line-take-or-wait.lua');

const PASS_ON = luaScript(import.meta.url, 'channel-line-pass-on.lua');

const FREE_IF_NONE_WAITING = luaScript(import.meta.url, 'channel-line-free-if-none-waiting.lua');

const FORGET_IF_EMPTY = luaScript(import.meta.url, 'channel-line-forget-if-empty.lua');

/** A line outlives any job that could be waiting in it (job records live a week). */
const LINE_TTL_MS = 7 * 24 * 3600 * 1000;

export type TakeOrWait = { took: true } | { took: false; holder: string; position: number };

export class ChannelLine {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Takes the channel when it is free, else puts the job at the end of its line (once). */
  async takeOrWait(channel: string, jobId: string, leaseMs: number): Promise<TakeOrWait> {
    const k = this.keys;
    const reply = (await this.redis.eval(
      TAKE_OR_WAIT,
      3,
      k.channelLock(channel),
      k.channelWaiting(channel),
      k.waitingChannels,
      jobId,
      String(leaseMs),
      channel,
      String(LINE_TTL_MS),
    )) as [number, string?, number?];
    return reply[0] === 1 ? { took: true } : { took: false, holder: String(reply[1]), position: Number(reply[2]) };
  }

  /**
   * Frees the channel `owner` held, passing it straight to the first waiting
   * job: returns that job's id, '' when the channel is free, or undefined when
   * `owner` did not hold it (someone else does; nothing changed).
   */
  async passOn(channel: string, owner: string, leaseMs: number): Promise<string | undefined> {
    const reply = (await this.redis.eval(
      PASS_ON,
      2,
      this.keys.channelLock(channel),
      this.keys.channelWaiting(channel),
      owner,
      String(leaseMs),
    )) as string | null;
    return reply === null ? undefined : reply;
  }

  /** Frees the channel `owner` holds unless jobs wait for it (then it stays held until passOn). */
  async freeIfNoneWaiting(channel: string, owner: string): Promise<boolean> {
    return (await this.redis.eval(FREE_IF_NONE_WAITING, 2, this.keys.channelLock(channel), this.keys.channelWaiting(channel), owner)) === 1;
  }

  /** Passes a channel that nobody holds (its holder vanished) to the first waiting job. */
  resume(channel: string, leaseMs: number): Promise<string | undefined> {
    return this.passOn(channel, '', leaseMs);
  }

  /** Takes a waiting job out of the line; false when it was not in it. */
  async leave(channel: string, jobId: string): Promise<boolean> {
    return (await this.redis.lrem(this.keys.channelWaiting(channel), 0, jobId)) > 0;
  }

  /** The waiting jobs, first in line first. */
  waiting(channel: string): Promise<string[]> {
    return this.redis.lrange(this.keys.channelWaiting(channel), 0, -1);
  }

  /** Channels that may have a line. */
  channels(): Promise<string[]> {
    return this.redis.smembers(this.keys.waitingChannels);
  }

  /** Forgets a channel whose line is empty (atomically: a job joining now keeps it). */
  async forgetIfEmpty(channel: string): Promise<void> {
    await this.redis.eval(FORGET_IF_EMPTY, 2, this.keys.channelWaiting(channel), this.keys.waitingChannels, channel);
  }

  async holder(channel: string): Promise<string | null> {
    return this.redis.get(this.keys.channelLock(channel));
  }
}

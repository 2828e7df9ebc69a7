// The emulated workspace's state: messages (bot and user alike), ephemerals,
// response_url posts, and the id generators (ts, event ids, trigger ids).
import { randomBytes } from 'node:crypto';
import type { ChannelType, RecordedEphemeral, RecordedMessage, RecordedResponse } from './types.js';

export const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

export function channelTypeOf(channel: string): ChannelType {
  if (channel.startsWith('D')) return 'im';
  if (channel.startsWith('G')) return 'group';
  return 'channel';
}

function compareTs(a: string, b: string): number {
  const [as = '0', af = '0'] = a.split('.');
  const [bs = '0', bf = '0'] = b.split('.');
  return Number(as) - Number(bs) || Number(af) - Number(bf);
}

export class Workspace {
  private readonly store = new Map<string, RecordedMessage>(); // key `${channel}/${ts}`
  readonly ephemerals: RecordedEphemeral[] = [];
  readonly responses: RecordedResponse[] = [];
  private lastSec = 0;
  private micro = 0;
  private eventCounter = 0;

  /** `${unixSeconds}.${6 digits}`, unique and strictly increasing. */
  nextTs(): string {
    const sec = Math.floor(Date.now() / 1000);
    if (sec > this.lastSec) {
      this.lastSec = sec;
      this.micro = 1;
    } else {
      this.micro += 1;
      if (this.micro > 999_999) {
        this.lastSec += 1;
        this.micro = 1;
      }
    }
    return `${this.lastSec}.${String(this.micro).padStart(6, '0')}`;
  }

  nextEventId(): string {
    this.eventCounter += 1;
    return `Ev${String(this.eventCounter).padStart(4, '0')}${randomBytes(4).toString('hex').toUpperCase()}`;
  }

  triggerId(): string {
    return `${Date.now()}.${Math.floor(Math.random() * 1e12)}.${randomBytes(16).toString('hex')}`;
  }

  add(m: Omit<RecordedMessage, 'updates' | 'history'>): RecordedMessage {
    const rec: RecordedMessage = { ...m, updates: 0, history: [] };
    this.store.set(`${m.channel}/${m.ts}`, rec);
    return rec;
  }

  get(channel: string, ts: string): RecordedMessage | undefined {
    return this.store.get(`${channel}/${ts}`);
  }

  delete(channel: string, ts: string): boolean {
    return this.store.delete(`${channel}/${ts}`);
  }

  /** In ts order. `thread_ts` selects the thread's replies and its parent (like conversations.replies). */
  list(filter: { channel?: string; thread_ts?: string } = {}): RecordedMessage[] {
    return [...this.store.values()]
      .filter((m) => filter.channel === undefined || m.channel === filter.channel)
      .filter((m) => filter.thread_ts === undefined || m.thread_ts === filter.thread_ts || m.ts === filter.thread_ts)
      .sort((a, b) => compareTs(a.ts, b.ts));
  }
}

// The conversations of the local chat page (SLACK_MODE=local), kept in Redis
// like everything else, so any replica can post, update and serve them:
// one record per message (TTL), a capped index per channel, and a capped feed
// stream of every post and update that open pages follow (Server-Sent Events).
// Bot messages are kept as platform-neutral Messages and rendered to HTML
// when served, by the one HTML renderer.
import type { Redis } from 'ioredis';
import type { Message } from '../domain/message.js';
import { emojiChar, escapeHtml, renderHtml, type HtmlNames } from './render/html.js';

export interface LocalMessage {
  id: string;
  channel: string;
  /** The thread's first message; unset for a message in the channel itself. */
  threadId?: string;
  author: 'user' | 'bot';
  user: string;
  /** What a person wrote. */
  text?: string;
  /** What the bot said. */
  message?: Message;
  ts: number;
  editedTs?: number;
  /** A short emoji name shown on the message, like a reaction: the mark of a request (taken, done, failed). */
  mark?: string;
}

/** A message as the page receives it: the body already rendered to safe HTML. */
export interface WireMessage {
  id: string;
  channel: string;
  threadId?: string;
  author: 'user' | 'bot';
  user: string;
  html: string;
  ts: number;
  editedTs?: number;
  /** The mark as a character (👀, ✅, ❌). */
  mark?: string;
}

export const LOCAL_MESSAGE_TTL_SECONDS = 7 * 24 * 60 * 60;
const CHANNEL_KEEP = 500;
const FEED_MAXLEN = 1000;

export interface LocalChatKeys {
  message(id: string): string;
  channel(channel: string): string;
  feed: string;
  seq: string;
}

export function localChatKeys(prefix: string): LocalChatKeys {
  return {
    message: (id) => `${prefix}local:msg:${id}`,
    channel: (c) => `${prefix}local:channel:${c}`,
    feed: `${prefix}local:feed`,
    seq: `${prefix}local:seq`,
  };
}

const MESSAGE_ID = /^m\d{1,15}$/;
export const isLocalMessageId = (id: string): boolean => MESSAGE_ID.test(id);

export function toWire(m: LocalMessage, names: HtmlNames = {}): WireMessage {
  const html = m.message ? renderHtml(m.message, names) : `<div class="sb-msg"><p>${escapeHtml(m.text ?? '')}</p></div>`;
  const wire: WireMessage = { id: m.id, channel: m.channel, author: m.author, user: m.user, html, ts: m.ts };
  if (m.threadId) wire.threadId = m.threadId;
  if (m.editedTs !== undefined) wire.editedTs = m.editedTs;
  if (m.mark !== undefined) wire.mark = emojiChar(m.mark);
  return wire;
}

export class LocalChatStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: LocalChatKeys,
    private readonly now: () => number = Date.now,
  ) {}

  async post(fields: Omit<LocalMessage, 'id' | 'ts'>): Promise<LocalMessage> {
    const seq = await this.redis.incr(this.keys.seq);
    const message: LocalMessage = { ...fields, id: `m${seq}`, ts: this.now() };
    await this.write(message, seq);
    return message;
  }

  /** Replaces a bot message's content in place (the status message); false when it is gone. */
  async update(id: string, content: Message): Promise<boolean> {
    const current = await this.get(id);
    if (!current) return false;
    await this.write({ ...current, message: content, editedTs: this.now() });
    return true;
  }

  /** Sets the mark shown on a message (a request: taken, then done or failed); false when it is gone. */
  async mark(id: string, mark: string): Promise<boolean> {
    const current = await this.get(id);
    if (!current) return false;
    await this.write({ ...current, mark });
    return true;
  }

  async get(id: string): Promise<LocalMessage | undefined> {
    if (!isLocalMessageId(id)) return undefined;
    const raw = await this.redis.get(this.keys.message(id));
    return raw === null ? undefined : (JSON.parse(raw) as LocalMessage);
  }

  /** A channel's newest messages (threads included), oldest first. */
  async channelMessages(channel: string, limit = 300): Promise<LocalMessage[]> {
    const ids = await this.redis.zrange(this.keys.channel(channel), String(-limit), '-1');
    if (!ids.length) return [];
    const raws = await this.redis.mget(...ids.map((id) => this.keys.message(id)));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as LocalMessage);
  }

  /** The id of the newest feed entry: a page that loaded the messages follows the feed from here. */
  async feedCursor(): Promise<string> {
    const last = await this.redis.xrevrange(this.keys.feed, '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? '0';
  }

  private async write(message: LocalMessage, seq?: number): Promise<void> {
    const multi = this.redis.multi().set(this.keys.message(message.id), JSON.stringify(message), 'EX', LOCAL_MESSAGE_TTL_SECONDS);
    if (seq !== undefined) {
      multi
        .zadd(this.keys.channel(message.channel), seq, message.id)
        .zremrangebyrank(this.keys.channel(message.channel), 0, -(CHANNEL_KEEP + 1))
        .expire(this.keys.channel(message.channel), LOCAL_MESSAGE_TTL_SECONDS);
    }
    multi.xadd(this.keys.feed, 'MAXLEN', '~', FEED_MAXLEN, '*', 'id', message.id).expire(this.keys.feed, LOCAL_MESSAGE_TTL_SECONDS);
    const results = await multi.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }
}

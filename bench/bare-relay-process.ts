// The relay-latency baseline: a bare blocking XREAD loop over the agents'
// streams that carries each progress event to Slack with one plain chat.update
// (fetch, no SDK, no record, no budget), in a process of its own.
//   REDIS_URL, SLACK_API_URL, SLACK_BOT_TOKEN; the streams come with `watch`.
import { Redis } from 'ioredis';
import { ready, serveParent } from './child-ipc.js';

interface Watched {
  key: string;
  channel: string;
  ts: string;
}

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const apiUrl = process.env.SLACK_API_URL ?? '';
const token = process.env.SLACK_BOT_TOKEN ?? '';
let stopped = false;
let loop: Promise<void> | undefined;

async function update(w: Watched, text: string): Promise<void> {
  await fetch(`${apiUrl}chat.update`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ channel: w.channel, ts: w.ts, text }),
  }).then((r) => r.arrayBuffer());
}

async function relay(streams: Watched[]): Promise<void> {
  const byKey = new Map(streams.map((s) => [s.key, s]));
  const cursors = new Map(streams.map((s) => [s.key, '0-0']));
  while (!stopped) {
    const keys = [...cursors.keys()];
    const reply = (await redis
      .xread('COUNT', 100, 'BLOCK', 1000, 'STREAMS', ...keys, ...keys.map((k) => cursors.get(k) as string))
      .catch(() => null)) as [string, [string, string[]][]][] | null;
    const calls: Promise<void>[] = [];
    for (const [key, entries] of reply ?? []) {
      const w = byKey.get(key);
      for (const [id, fields] of entries) {
        cursors.set(key, id);
        const event = JSON.parse(fields[1] ?? '{}') as { type?: string; name?: string };
        if (w && event.type === 'progress') calls.push(update(w, `running · ${event.name ?? ''}`));
      }
    }
    await Promise.all(calls);
  }
}

serveParent({
  watch: (m) => {
    loop = relay((m as unknown as { streams: Watched[] }).streams);
    return 'watching';
  },
  stop: async () => {
    stopped = true;
    await loop;
    redis.disconnect();
  },
});
ready();

// The scale baseline: a bare blocking XREAD loop over many agents' streams (100
// streams per connection), parsing each event and nothing else, in a process
// of its own. The streams come with `watch`.
//   REDIS_URL
import { Redis } from 'ioredis';
import { ready, serveParent } from './child-ipc.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PER_CONNECTION = 100;
let stopped = false;
let read = 0;
const loops: Promise<void>[] = [];
const connections: Redis[] = [];

async function readLoop(redis: Redis, keys: string[]): Promise<void> {
  const cursors = keys.map(() => '0-0');
  const index = new Map(keys.map((k, i) => [k, i]));
  while (!stopped) {
    const reply = (await redis.xread('COUNT', 100, 'BLOCK', 1000, 'STREAMS', ...keys, ...cursors).catch(() => null)) as
      [string, [string, string[]][]][] | null;
    for (const [key, entries] of reply ?? []) {
      const i = index.get(key) ?? -1;
      for (const [id, fields] of entries) {
        cursors[i] = id;
        JSON.parse(fields[1] ?? 'null');
        read++;
      }
    }
  }
}

serveParent({
  watch: (m) => {
    const keys = (m as unknown as { keys: string[] }).keys;
    for (let i = 0; i < keys.length; i += PER_CONNECTION) {
      const redis = new Redis(url);
      connections.push(redis);
      loops.push(readLoop(redis, keys.slice(i, i + PER_CONNECTION)));
    }
    return 'watching';
  },
  count: () => ({ read }),
  stop: async () => {
    stopped = true;
    await Promise.all(loops);
    for (const c of connections) c.disconnect();
  },
});
ready();

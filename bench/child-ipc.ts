// The child's side of BenchChild (support.ts): answers `usage` and `stop`
// requests over IPC, and any others through `handlers`.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ProcessUsage } from './support.js';

type Handler = (message: Record<string, unknown>) => Promise<unknown> | unknown;

export function serveParent(handlers: Record<string, Handler> & { stop: () => Promise<void> }): void {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const usage = (): ProcessUsage => {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const u = {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      externalBytes: mem.external,
      cpuMs: (cpu.user + cpu.system) / 1000,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
    };
    loop.reset();
    return u;
  };
  process.on('message', (m: { id: number; type: string }) => {
    const reply = (r: unknown) => process.send?.({ id: m.id, reply: r ?? null });
    if (m.type === 'usage') return reply(usage());
    const handler = handlers[m.type];
    if (!handler) return reply({ error: `no handler for ${m.type}` });
    void Promise.resolve(handler(m)).then(
      (r) => {
        reply(r);
        if (m.type === 'stop') setTimeout(() => process.exit(0), 50);
      },
      (err: unknown) => {
        console.error(err);
        reply({ error: String(err) });
        if (m.type === 'stop') process.exit(1);
      },
    );
  });
}

export const ready = (extra: Record<string, unknown> = {}): void => void process.send?.({ type: 'ready', ...extra });

// Spawn latency (switchboard_agent_spawn_seconds): the spawner as the rest of
// the dispatcher sees it, with every start() timed. A proxy, so the spawner
// itself (Docker, Kubernetes) knows nothing of metrics.
import type { JobSpawner } from './spawner.js';
import type { Metrics } from '../observability/metrics.js';

export function timedSpawner(spawner: JobSpawner, metrics: Pick<Metrics, 'spawnLatency'>): JobSpawner {
  const start: JobSpawner['start'] = async (spec) => {
    const stop = metrics.spawnLatency.startTimer({ spawner: spawner.kind });
    try {
      const handle = await spawner.start(spec);
      stop({ outcome: 'ok' });
      return handle;
    } catch (err) {
      stop({ outcome: 'error' });
      throw err;
    }
  };
  return new Proxy(spawner, {
    get(target, prop, receiver) {
      if (prop === 'start') return start;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// Relay lag (switchboard_relay_lag_seconds): from an agent event's XADD to
// the chat call that shows it. A stream id starts with the milliseconds of
// its XADD, and a job record's `cursor` is the id of the last event applied
// to it, so a status update or a result that carries a new cursor shows that
// event: the lag is measured when the call has gone out.
import type { JobRecord } from '../../domain/job.js';
import type { Metrics } from '../../observability/metrics.js';
import type { JobNotifier } from '../ports.js';

/** Milliseconds of a stream id (`1700000000000-0`), or undefined for none (`0`). */
export function xaddTimeOf(streamId: string): number | undefined {
  const ms = Number(streamId.split('-')[0]);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export function measureRelayLag<N extends JobNotifier>(notifier: N, metrics: Pick<Metrics, 'relayLag'>, now: () => number = Date.now): N {
  /** The cursor each job's chat last showed: an update that shows nothing new (a cancel request, a tick) is not a relay. */
  const shown = new Map<string, string>();
  const observe = (job: JobRecord, kind: 'status' | 'result') => {
    const at = xaddTimeOf(job.cursor);
    if (at === undefined || (kind === 'status' && shown.get(job.id) === job.cursor)) return;
    shown.set(job.id, job.cursor);
    metrics.relayLag.observe({ kind }, Math.max(0, now() - at) / 1000);
  };
  const updateStatus: JobNotifier['updateStatus'] = async (job, info) => {
    await notifier.updateStatus(job, info);
    observe(job, 'status');
    if (info?.final) shown.delete(job.id);
  };
  const postResult: JobNotifier['postResult'] = async (job) => {
    await notifier.postResult(job);
    observe(job, 'result');
    shown.delete(job.id);
  };
  return new Proxy(notifier, {
    get(target, prop, receiver) {
      if (prop === 'updateStatus') return updateStatus;
      if (prop === 'postResult') return postResult;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// Runs every benchmark and prints one table: each figure next to a baseline
// measured in the same run, and the ratio. Targets are reported, not enforced:
// the exit code is 0 unless a bench crashes (or BENCH_STRICT=1 and a target is
// missed). See bench/README.md.
import { benchEventRelay } from './event-relay.js';
import { benchIntentParse } from './intent-parse.js';
import { benchIntentAdversarial } from './intent-adversarial.js';
import { benchStatusCoalescing } from './status-coalescing.js';
import { benchSlackDelivery } from './slack-delivery/index.js';
import { benchInference } from './inference.js';
import { benchAck } from './ack.js';
import { benchDispatchOverhead } from './dispatch-overhead.js';
import { benchRelayLatency } from './relay-latency.js';
import { benchScale } from './scale.js';
import { nowMs, startRedis, type Row } from './support.js';

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(3);
}

function table(rows: readonly Row[]): string {
  const header = ['bench', 'metric', 'ours', 'baseline', 'unit', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.bench,
    r.metric,
    fmt(r.ours),
    fmt(r.baseline),
    r.unit,
    r.ratio.toFixed(3),
    r.target ?? '—',
    r.pass === undefined ? 'info' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<number> {
  const started = nowMs();
  const redis = await startRedis();
  const stop = () => void redis.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`node ${process.version} · redis ${redis.owned ? `started at ${redis.url}` : `from REDIS_URL`}`);
  const rows: Row[] = [];
  try {
    const steps: [string, () => Promise<Row[]> | Row[]][] = [
      ['event-relay', () => benchEventRelay(redis.url)],
      ['intent-parse', () => benchIntentParse()],
      ['intent-adversarial', () => benchIntentAdversarial()],
      ['status-coalescing', () => benchStatusCoalescing()],
      ['slack-delivery', () => benchSlackDelivery(redis.url)],
      ['inference', () => benchInference(redis.url)],
      ['ack', () => benchAck(redis.url)],
      ['dispatch', () => benchDispatchOverhead()],
      ['relay', () => benchRelayLatency(redis.url)],
      ['scale', () => benchScale(redis.url)],
    ];
    // BENCH_ONLY=slack-delivery (comma-separated names) runs just those.
    const only = process.env.BENCH_ONLY?.split(',').map((n) => n.trim());
    for (const [name, fn] of steps.filter(([n]) => !only || only.includes(n))) {
      const t0 = nowMs();
      process.stdout.write(`running ${name}… `);
      rows.push(...(await fn()));
      console.log(`${((nowMs() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await redis.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }

  console.log(`\n${table(rows)}\n`);
  for (const r of rows) if (r.note) console.log(`· ${r.bench}: ${r.note}`);
  const missed = rows.filter((r) => r.pass === false);
  console.log(
    `\n${missed.length ? `${missed.length} target(s) missed` : 'all targets met'} · total ${((nowMs() - started) / 1000).toFixed(1)} s`,
  );
  return missed.length && process.env.BENCH_STRICT === '1' ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

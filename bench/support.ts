// Shared helpers for the benchmarks: a throwaway redis-server, timing,
// medians, a seeded PRNG and forced garbage collection for heap figures.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One printed figure: ours against the baseline measured in the same run. */
export interface Row {
  bench: string;
  metric: string;
  ours: number;
  baseline: number;
  unit: string;
  /** ours / baseline. */
  ratio: number;
  /** Human-readable target, e.g. "ratio ≥ 0.5"; absent for information-only rows. */
  target?: string;
  /** Whether the target was met; absent for information-only rows. */
  pass?: boolean;
  /** Anything worth printing under the table. */
  note?: string;
}

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Wall-clock time in ms with sub-millisecond precision (comparable with Date.now() in other processes). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** Nearest-rank percentile (p in 0…100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** "12.3 / 45.6 ms" style spread of a list of runs. */
export const runs = (xs: readonly number[], digits = 1): string => `[${xs.map((x) => x.toFixed(digits)).join(', ')}]`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** mulberry32: deterministic inputs, so every run measures the same work. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rand: () => number, xs: readonly T[]): T => {
  const x = xs[Math.floor(rand() * xs.length)];
  if (x === undefined) throw new Error('pick from an empty list');
  return x;
};

let gcFn: (() => void) | undefined;
/**
 * A full GC. `npm run bench` runs plain `node`, so --expose-gc is switched on
 * at run time and `gc` is taken from a fresh context.
 */
export function fullGc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

// ------------------------------------------------------------------ redis

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function ping(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = new Socket();
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1', () => {
      s.write('PING\r\n');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
    });
  });
}

export interface BenchRedis {
  url: string;
  /** True when this process started the server (and will stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

/**
 * Uses REDIS_URL when set; otherwise starts redis-server on a free loopback
 * port with no persistence, like tests/support/global-setup.ts does.
 */
export async function startRedis(opts: { ownServer?: boolean; alsoBind?: string } = {}): Promise<BenchRedis> {
  const external = process.env.REDIS_URL;
  if (external && !opts.ownServer) return { url: external, owned: false, stop: async () => {} };

  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    // alsoBind: the agents' network gateway, so that agent containers reach it too.
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      ...(opts.alsoBind ? [opts.alsoBind, '--protected-mode', 'no'] : []),
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxclients',
      '10000',
    ],
    { stdio: 'ignore' },
  );
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(new Error(`could not start redis-server (is it installed? apt-get install redis-server): ${err.message}`)),
    ),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  };

  const ready = (async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await ping(port)) return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${port} did not answer PING`);
  })();
  spawnError.catch(() => {}); // reported through the race below, or after start by the benches failing
  try {
    await Promise.race([ready, spawnError]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, owned: true, stop };
}

// ------------------------------------------------------------------ child processes

/** What a bench child process reports about itself (bench/child-ipc.ts). */
/** The environment of a dispatcher under a bench: HTTP mode against the emulator, on loopback, with its own Redis prefix. */
export function httpDispatcherEnv(
  emu: { botToken: string; signingSecret: string; apiUrl: string },
  d: { port: number; redisUrl: string; prefix: string; projectsFile: string; maxConcurrentJobs: number },
): Record<string, string> {
  return {
    SLACK_MODE: 'http',
    SLACK_BOT_TOKEN: emu.botToken,
    SLACK_SIGNING_SECRET: emu.signingSecret,
    SLACK_API_URL: emu.apiUrl,
    PORT: String(d.port),
    LISTEN_HOST: '127.0.0.1',
    REDIS_URL: d.redisUrl,
    REDIS_PREFIX: d.prefix,
    PROJECTS_FILE: d.projectsFile,
    MAX_CONCURRENT_JOBS: String(d.maxConcurrentJobs),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };
}

export interface ProcessUsage {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers and other external memory). */
  externalBytes: number;
  /** User + system CPU time since the process started, in ms. */
  cpuMs: number;
  /** Event-loop delay since the last report, in ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/**
 * A bench process of its own (a dispatcher, a bare Bolt app, a simulator…),
 * so that what it costs is measured apart from the load generator. It says
 * `{ type: 'ready', … }` over IPC once it serves; `request()` asks it things.
 */
export class BenchChild {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: unknown) => void>();
  private stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.on('message', (m: { id?: number; reply?: unknown }) => {
      if (m.id === undefined) return;
      this.waiting.get(m.id)?.(m.reply);
      this.waiting.delete(m.id);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Forks `script` (a compiled bench file) with `env` and waits for its ready message. */
  static async start<R = Record<string, unknown>>(
    script: URL,
    name: string,
    env: Record<string, string>,
    timeoutMs = 60_000,
    execArgv: string[] = [],
  ): Promise<{ child: BenchChild; ready: R }> {
    const cp = fork(script, [], {
      execArgv,
      env: { ...process.env, ...env },
      stdio: ['ignore', process.env.BENCH_VERBOSE === '1' ? 'inherit' : 'ignore', 'pipe', 'ipc'],
    });
    const child = new BenchChild(cp, name);
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      new Promise<R>((resolve) => {
        const onMessage = (m: { type?: string }) => {
          if (m.type !== 'ready') return;
          cp.off('message', onMessage);
          resolve(m as R);
        };
        cp.on('message', onMessage);
      }),
      child.exited.then((code) => Promise.reject(new Error(`${name} exited with ${code} before it was ready: ${child.stderr}`))),
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`${name} was not ready within ${timeoutMs} ms: ${child.stderr}`)), timeoutMs)),
      ),
    ]).finally(() => clearTimeout(timer));
    return { child, ready };
  }

  /** Sends `{ id, ...message }` and waits for the child's `{ id, reply }`. */
  request<T>(message: Record<string, unknown>, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      new Promise<T>((resolve) => {
        this.waiting.set(id, (r) => resolve(r as T));
        this.child.send({ id, ...message });
      }),
      this.exited.then((code) => Promise.reject(new Error(`${this.name} exited with ${code}: ${this.stderr}`))),
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`${this.name} did not answer ${JSON.stringify(message)}`)), timeoutMs)),
      ),
    ]).finally(() => clearTimeout(timer));
  }

  usage(): Promise<ProcessUsage> {
    return this.request<ProcessUsage>({ type: 'usage' });
  }

  /** Asks it to stop (it answers when done); kills it after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.request({ type: 'stop' }, timeoutMs).catch(() => undefined);
    await Promise.race([this.exited, sleep(2000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

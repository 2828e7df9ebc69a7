// A dispatcher replica as its own OS process (`node dist/main.js`, exactly as
// `npm start` runs it), for tests that kill one with SIGKILL, start one with
// Redis down, or spread one channel's requests over several processes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Harness } from './dispatcher-harness.js';
import { eventually } from './eventually.js';
import { freePort } from './free-port.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ReplicaProcess {
  port: number;
  child: ChildProcess;
  /** Everything it wrote, stdout and stderr (prefixed `[stderr] `), in order. */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** GET /readyz: status and body. */
  readyz(): Promise<{ status: number; body: string }>;
  /** Waits until /readyz answers 200 (fails early if the process exits). */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The log lines (pino JSON) it wrote, parsed; lines that are not JSON are skipped. */
  logLines(): Record<string, unknown>[];
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let built: Promise<void> | undefined;

/** Builds dist/ (npm run build) unless it is newer than every file in src/: once per test file at most. */
export function ensureDispatcherBuild(): Promise<void> {
  built ??= (async () => {
    const main = join(ROOT, 'dist', 'main.js');
    if (existsSync(main) && statSync(main).mtimeMs > newestMtime(join(ROOT, 'src'))) return;
    await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT });
  })();
  return built;
}

/**
 * Starts a replica configured like the harness's (same emulator, Redis prefix,
 * catalogue), on its own port, with `env` on top. Call ensureDispatcherBuild() first.
 */
export async function spawnReplica(
  h: Pick<Harness, 'env'>,
  opts: { env?: Record<string, string>; port?: number } = {},
): Promise<ReplicaProcess> {
  const port = opts.port ?? (await freePort());
  const env = { ...h.env, PORT: String(port), LOG_LEVEL: 'info', PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env };
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(`[stderr] ${d.toString()}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: await res.text() };
  };
  return {
    port,
    child,
    output,
    exited,
    isRunning,
    readyz,
    async ready(timeoutMs = 30_000) {
      await eventually(
        async () => {
          if (!isRunning())
            throw new Error(`the replica exited with ${child.exitCode ?? child.signalCode}:\n${output.join('').slice(-2000)}`);
          return (await readyz()).status === 200;
        },
        `replica on port ${port} to answer /readyz with 200`,
        timeoutMs,
      );
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (isRunning()) child.kill(signal);
      return exited;
    },
    logLines() {
      return output
        .join('')
        .split('\n')
        .flatMap((line) => {
          try {
            const parsed: unknown = JSON.parse(line);
            return parsed && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
          } catch {
            return [];
          }
        });
    },
  };
}

/**
 * Starts `count` replicas (each as spawnReplica with `opts`) on a harness that runs no dispatcher of its own,
 * and waits until every one answers /readyz and holds its Socket Mode connection.
 */
export async function spawnConnectedReplicas(
  h: Pick<Harness, 'env' | 'emu'>,
  count: number,
  opts: { env?: Record<string, string> } = {},
): Promise<ReplicaProcess[]> {
  const replicas = await Promise.all(Array.from({ length: count }, () => spawnReplica(h, opts)));
  await Promise.all(replicas.map((r) => r.ready()));
  await h.emu.waitFor(() => h.emu.socketConnections() === count, { what: `${count} Socket Mode connection(s)`, timeoutMs: 15_000 });
  return replicas;
}

/** Stops replicas with SIGTERM; a failed test first shows what each one said. */
export async function stopReplicas(replicas: ReplicaProcess[], opts: { showOutput: boolean }): Promise<void> {
  if (opts.showOutput) replicas.forEach((r, i) => dumpOutput(`replica ${i + 1}`, r));
  await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
}

/** Prints a replica's output to stderr (for a failed test: what the process said). */
export function dumpOutput(name: string, replica: ReplicaProcess): void {
  process.stderr.write(
    `\n----- ${name} (node dist/main.js, port ${replica.port}) output -----\n${replica.output.join('')}\n----- end of ${name} -----\n`,
  );
}

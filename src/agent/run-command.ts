// Runs one command without a shell, turning its output into batched lines.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all. */
  spawnError?: string;
}

export interface RunningCommand {
  done: Promise<CommandResult>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  terminate(graceMs: number): void;
}

export function runCommand(
  argv: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; onLine: (line: string, stream: 'stdout' | 'stderr') => void },
): RunningCommand {
  const [file, ...args] = argv;
  const child = spawn(file ?? '', args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const streams: Promise<void>[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const source = child[name];
    if (!source) continue;
    const rl = createInterface({ input: source, crlfDelay: Infinity });
    rl.on('line', (line) => opts.onLine(line, name));
    streams.push(new Promise((resolve) => rl.once('close', () => resolve())));
  }
  const done = new Promise<CommandResult>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      const spawnError = err.code === 'ENOENT' ? `command not found: ${file}` : err.message;
      resolve({ exitCode: null, signal: null, spawnError });
    });
    child.once('close', (exitCode, signal) => {
      void Promise.all(streams).then(() => resolve({ exitCode, signal }));
    });
  });
  return {
    done,
    terminate(graceMs) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      timer.unref();
    },
  };
}

// Runs one command without a shell, turning its output into lines. The command
// leads a process group of its own, so stopping it stops everything it started.
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
  /** SIGTERM to the whole process group, then SIGKILL after `graceMs`. */
  terminate(graceMs: number): void;
  /** Writes to the command's stdin; false when it has no stdin (any more). */
  write(text: string): boolean;
}

export interface RunCommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Keep stdin open as a pipe (for answers and follow-ups); otherwise it is /dev/null. */
  stdin?: boolean;
}

/** Signals a whole process group; a group that is already gone is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export function runCommand(argv: string[], opts: RunCommandOptions): RunningCommand {
  const [file, ...args] = argv;
  // detached: the command becomes a process group leader, so kill(-pid) reaches its children too.
  const child = spawn(file ?? '', args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // A command that exits or closes its stdin must not crash the runner with EPIPE.
  child.stdin?.on('error', () => undefined);
  const streams: Promise<void>[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const source = child[name];
    if (!source) continue;
    const rl = createInterface({ input: source, crlfDelay: Infinity });
    rl.on('line', (line) => opts.onLine(line, name));
    streams.push(new Promise((resolve) => rl.once('close', () => resolve())));
  }
  let exited = false;
  // Whatever the command left running would hold its output open (and the runner with it): it goes with the command.
  child.once('exit', () => {
    exited = true;
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
  });
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
      const pid = child.pid;
      if (pid === undefined || exited) return;
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      timer.unref();
      void done.then(() => clearTimeout(timer));
    },
    write(text) {
      const stdin = child.stdin;
      if (!stdin || exited || stdin.destroyed || !stdin.writable) return false;
      stdin.write(text);
      return true;
    },
  };
}

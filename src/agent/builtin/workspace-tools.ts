// The built-in agent's tools: list, read, search and write files in the
// workspace, run an allowed command, and finish. Each returns text for the
// model; a refusal or a failure is text too ("error: …"), so the model can
// correct itself. Only `finish` ends the loop.
import { constants } from 'node:fs';
import { ErrorCode } from '../../errors.js';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ToolCall, ToolSpec } from './chat-model.js';
import { PathRefused, resolveInWorkspace, shown } from './workspace-paths.js';
import { checkCommand, describeAllowed } from './allowed-commands.js';
import { runCommand } from '../run-command.js';

/** What the model reads back at most: a file, a listing, a search, a command's output. */
export const MAX_TOOL_OUTPUT = 32 * 1024;
const MAX_LIST_ENTRIES = 500;
const MAX_SEARCH_MATCHES = 200;
const MAX_SEARCHED_FILE = 1024 * 1024;
/** Not worth the model's tokens, and huge. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/** A command killed by a cancel or the time cap gets this long after SIGTERM. */
const COMMAND_GRACE_MS = 2000;
/** Env names a command must not see: the runner's Redis user and the job's inference token. */
const HIDDEN_ENV = /^(SWITCHBOARD_|OPENAI_API_KEY$|OLLAMA_HOST$)/;

export const FINISH_TOOL = 'finish';

export const TOOL_SPECS: readonly ToolSpec[] = [
  {
    name: 'list_files',
    description: 'List the files under a directory of the workspace, recursively (.git and node_modules skipped).',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string', description: 'directory relative to the workspace; default "."' } },
      required: [],
    },
  },
  {
    name: 'read_file',
    description: 'Read a text file of the workspace.',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string', description: 'file relative to the workspace' } },
      required: ['path'],
    },
  },
  {
    name: 'search_files',
    description: 'Find lines that contain a text (case-insensitive, not a regex) in the files under a directory.',
    parameters: {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'the text to look for' },
        path: { type: 'string', description: 'directory; default "."' },
      },
      required: ['text'],
    },
  },
  {
    name: 'write_file',
    description: 'Create or replace a file of the workspace with exactly the given content (parent directories are created).',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'file relative to the workspace' },
        content: { type: 'string', description: 'the whole new content' },
      },
      required: ['path', 'content'],
    },
  },
  {
    name: 'run_command',
    description: 'Run one of the commands the project allows, in the workspace, without a shell. Returns its exit code and output.',
    parameters: {
      type: 'object',
      properties: {
        argv: { type: 'array', items: { type: 'string' }, description: 'the command and its arguments, like ["npm", "test"]' },
      },
      required: ['argv'],
    },
  },
  {
    name: FINISH_TOOL,
    description: 'End the task with a short summary of what was changed and why.',
    parameters: { type: 'object', properties: { summary: { type: 'string', description: 'what was done' } }, required: ['summary'] },
  },
];

export interface ToolResult {
  /** What the model reads. */
  output: string;
  /** One line for the job's log. */
  logLine: string;
  /** Set by write_file: the file written, relative to the workspace. */
  wrote?: string;
}

function cut(text: string): string {
  return text.length > MAX_TOOL_OUTPUT ? `${text.slice(0, MAX_TOOL_OUTPUT)}\n…[cut at ${MAX_TOOL_OUTPUT} characters]` : text;
}

const stringArg = (args: Record<string, unknown>, name: string, fallback?: string): string => {
  const v = args[name];
  if (typeof v === 'string') return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new ToolArgumentError(`argument "${name}" must be a string`);
};

class ToolArgumentError extends Error {
  readonly code = ErrorCode.AgentToolArgument;
}

export interface WorkspaceToolsOptions {
  root: string;
  /** The project's allowed commands (agent.allow). */
  allow: readonly (readonly string[])[];
  /** The runner's environment; commands get it without the runner's own secrets (HIDDEN_ENV). */
  env: NodeJS.ProcessEnv;
}

export class WorkspaceTools {
  private readonly commandEnv: NodeJS.ProcessEnv;

  constructor(private readonly options: WorkspaceToolsOptions) {
    this.commandEnv = Object.fromEntries(Object.entries(options.env).filter(([name]) => !HIDDEN_ENV.test(name)));
  }

  /** Runs one tool call (not `finish`, which the loop handles). Never throws for the model's mistakes. */
  async run(call: ToolCall, signal: AbortSignal): Promise<ToolResult> {
    try {
      switch (call.name) {
        case 'list_files':
          return await this.list(stringArg(call.arguments, 'path', '.'));
        case 'read_file':
          return await this.read(stringArg(call.arguments, 'path'));
        case 'search_files':
          return await this.search(stringArg(call.arguments, 'text'), stringArg(call.arguments, 'path', '.'));
        case 'write_file':
          return await this.write(stringArg(call.arguments, 'path'), stringArg(call.arguments, 'content'));
        case 'run_command':
          return await this.runAllowed(call.arguments.argv, signal);
        default:
          return refusal(
            call.name,
            `there is no tool named ${JSON.stringify(call.name)}; the tools are ${TOOL_SPECS.map((t) => t.name).join(', ')}`,
          );
      }
    } catch (err) {
      if (err instanceof PathRefused || err instanceof ToolArgumentError) return refusal(call.name, err.message);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return refusal(call.name, 'no such file or directory');
      if (code === 'EISDIR') return refusal(call.name, 'that is a directory');
      if (code === 'ENOTDIR') return refusal(call.name, 'a part of that path is not a directory');
      if (code === 'ELOOP') return refusal(call.name, 'that path is a symlink, which is not followed for writing');
      return refusal(call.name, (err as Error).message);
    }
  }

  private async list(path: string): Promise<ToolResult> {
    const dir = await resolveInWorkspace(this.options.root, path);
    const root = await this.realRoot();
    const found: string[] = [];
    const walk = async (at: string): Promise<void> => {
      const entries = await readdir(at, { withFileTypes: true });
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        if (found.length >= MAX_LIST_ENTRIES) return;
        const full = join(at, e.name);
        // Symlinks are listed, never followed: they might lead out.
        if (e.isDirectory()) {
          if (!SKIPPED_DIRS.has(e.name)) await walk(full);
        } else found.push(shown(root, full) + (e.isSymbolicLink() ? ' (symlink)' : ''));
      }
    };
    await walk(dir.real);
    const more = found.length >= MAX_LIST_ENTRIES ? `\n…[only the first ${MAX_LIST_ENTRIES} files]` : '';
    return { output: found.length ? found.join('\n') + more : '(no files)', logLine: `list_files ${dir.relative}` };
  }

  private async read(path: string): Promise<ToolResult> {
    const file = await resolveInWorkspace(this.options.root, path);
    // Only what the model can be shown is read: a huge file costs no memory.
    const handle = await open(file.real, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const info = await handle.stat();
      if (info.isDirectory()) return refusal('read_file', 'that is a directory');
      const size = info.size;
      const buffer = Buffer.alloc(Math.min(size, MAX_TOOL_OUTPUT));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      const more = size > bytesRead ? `\n…[cut: the file has ${size} bytes, only the first ${bytesRead} are shown]` : '';
      return { output: text + more, logLine: `read_file ${file.relative}` };
    } finally {
      await handle.close();
    }
  }

  private async search(text: string, path: string): Promise<ToolResult> {
    if (text === '') return refusal('search_files', 'argument "text" must not be empty');
    const dir = await resolveInWorkspace(this.options.root, path);
    const root = await this.realRoot();
    const needle = text.toLowerCase();
    const matches: string[] = [];
    const walk = async (at: string): Promise<void> => {
      for (const e of await readdir(at, { withFileTypes: true })) {
        if (matches.length >= MAX_SEARCH_MATCHES) return;
        const full = join(at, e.name);
        if (e.isDirectory()) {
          if (!SKIPPED_DIRS.has(e.name)) await walk(full);
          continue;
        }
        if (!e.isFile() || (await stat(full)).size > MAX_SEARCHED_FILE) continue;
        const content = await readFile(full, 'utf8');
        if (content.includes('\0')) continue; // binary
        content.split('\n').forEach((line, i) => {
          if (matches.length < MAX_SEARCH_MATCHES && line.toLowerCase().includes(needle))
            matches.push(`${shown(root, full)}:${i + 1}: ${line.slice(0, 300)}`);
        });
      }
    };
    await walk(dir.real);
    return {
      output: matches.length ? cut(matches.join('\n')) : '(no matches)',
      logLine: `search_files ${JSON.stringify(text)} in ${dir.relative}`,
    };
  }

  private async write(path: string, content: string): Promise<ToolResult> {
    const file = await resolveInWorkspace(this.options.root, path);
    await mkdir(dirname(file.real), { recursive: true });
    // Checked again after the directories exist; O_NOFOLLOW: a symlink put in its place meanwhile is not followed.
    const checked = await resolveInWorkspace(this.options.root, file.real);
    const handle = await open(checked.real, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    try {
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    const bytes = Buffer.byteLength(content);
    return {
      output: `wrote ${bytes} bytes to ${checked.relative}`,
      logLine: `write_file ${checked.relative} (${bytes} bytes)`,
      wrote: checked.relative,
    };
  }

  private async runAllowed(argv: unknown, signal: AbortSignal): Promise<ToolResult> {
    const verdict = checkCommand(Array.isArray(argv) ? argv : [], this.options.allow);
    if (!verdict.ok) return refusal('run_command', verdict.reason);
    const args = argv as string[];
    signal.throwIfAborted();
    const lines: string[] = [];
    let size = 0;
    const running = runCommand(args, {
      cwd: this.options.root,
      env: this.commandEnv,
      onLine: (line) => {
        lines.push(line);
        size += line.length + 1;
        // Keep the tail: the end of a test run says what failed.
        while (size > MAX_TOOL_OUTPUT && lines.length > 1) size -= (lines.shift() ?? '').length + 1;
      },
    });
    const stop = () => running.terminate(COMMAND_GRACE_MS);
    signal.addEventListener('abort', stop, { once: true });
    try {
      const result = await running.done;
      signal.throwIfAborted();
      if (result.spawnError) return refusal('run_command', `${JSON.stringify(args)} could not start: ${result.spawnError}`);
      const how = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
      return { output: `${how}\n${lines.join('\n')}`, logLine: `run_command ${args.join(' ')} → ${how}` };
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  private realRoot(): Promise<string> {
    return resolveInWorkspace(this.options.root, '.').then((r) => r.real);
  }

  /** For the prompt: what the model may run. */
  allowedText(): string {
    return describeAllowed(this.options.allow);
  }
}

function refusal(tool: string, why: string): ToolResult {
  return { output: `error: ${why}`, logLine: `${tool} refused: ${why}` };
}

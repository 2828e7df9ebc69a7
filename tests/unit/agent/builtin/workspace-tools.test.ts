// The built-in agent's tools on a real temporary directory: what they may
// touch (only the workspace, not through `../`, absolute paths or symlinks),
// what they write (exactly the content given), and which commands run (only
// the project's allowed argv, never through a shell).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceTools } from '../../../../src/agent/builtin/workspace-tools.js';
import { checkCommand } from '../../../../src/agent/builtin/allowed-commands.js';
import { PathRefused, resolveInWorkspace } from '../../../../src/agent/builtin/workspace-paths.js';

let tmp: string;
let root: string;
let outside: string;
const never = new AbortController().signal;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sb-tools-'));
  root = join(tmp, 'workspace');
  outside = join(tmp, 'outside');
  mkdirSync(join(root, 'src'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'src', 'app.ts'), 'export const answer = 41;\n');
  writeFileSync(join(root, 'README.md'), '# demo\nThe Answer is here.\n');
  writeFileSync(join(outside, 'secret.txt'), 'top secret\n');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const tools = (allow: string[][] = [], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }) => new WorkspaceTools({ root, allow, env });
const call = (t: WorkspaceTools, name: string, args: Record<string, unknown>) => t.run({ name, arguments: args }, never);

describe('paths outside the workspace are refused', () => {
  test.each([
    ['../ climbing out', '../outside/secret.txt'],
    ['../ after a directory', 'src/../../outside/secret.txt'],
    ['an absolute path elsewhere', '/etc/hostname'],
    ['an absolute path next to the workspace', '__OUTSIDE__/secret.txt'],
  ])('%s', async (_what, given) => {
    const path = given.replace('__OUTSIDE__', outside);
    const t = tools();
    const read = await call(t, 'read_file', { path });
    expect(read.output).toMatch(/^error: .* is refused: it (climbs out of|is outside) the workspace/);
    expect(read.output).not.toContain('top secret');
    const write = await call(t, 'write_file', { path, content: 'pwned' });
    expect(write.output).toMatch(/^error: .* is refused/);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('top secret\n');
    expect(write.wrote).toBeUndefined();
  });

  test('through a symlink to a directory outside, for reading, writing, listing and searching', async () => {
    symlinkSync(outside, join(root, 'link'));
    const t = tools();
    expect((await call(t, 'read_file', { path: 'link/secret.txt' })).output).toMatch(/leads out of the workspace through a symlink/);
    expect((await call(t, 'write_file', { path: 'link/new.txt', content: 'x' })).output).toMatch(
      /leads out of the workspace through a symlink/,
    );
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect((await call(t, 'list_files', { path: 'link' })).output).toMatch(/^error: .*symlink/);
    expect((await call(t, 'search_files', { text: 'secret', path: 'link' })).output).toMatch(/^error: .*symlink/);
  });

  test('through a symlinked file outside, and a dangling one', async () => {
    symlinkSync(join(outside, 'secret.txt'), join(root, 'notes.txt'));
    symlinkSync(join(outside, 'not-yet.txt'), join(root, 'dangling.txt'));
    const t = tools();
    expect((await call(t, 'read_file', { path: 'notes.txt' })).output).toMatch(/through a symlink/);
    expect((await call(t, 'write_file', { path: 'notes.txt', content: 'overwritten' })).output).toMatch(/through a symlink/);
    expect((await call(t, 'write_file', { path: 'dangling.txt', content: 'made' })).output).toMatch(/symlink that points nowhere/);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('top secret\n');
    expect(existsSync(join(outside, 'not-yet.txt'))).toBe(false);
  });

  test('the listing shows symlinks without following them, so nothing outside is listed', async () => {
    symlinkSync(outside, join(root, 'link'));
    const out = (await call(tools(), 'list_files', {})).output.split('\n');
    expect(out).toEqual(['link (symlink)', 'README.md', 'src/app.ts']);
  });

  test('a symlink that stays inside is followed', async () => {
    symlinkSync(join(root, 'src'), join(root, 'source'));
    expect((await call(tools(), 'read_file', { path: 'source/app.ts' })).output).toBe('export const answer = 41;\n');
  });

  test('resolveInWorkspace accepts an absolute path inside and names what it refuses', async () => {
    expect((await resolveInWorkspace(root, join(root, 'src', 'app.ts'))).relative).toBe(join('src', 'app.ts'));
    await expect(resolveInWorkspace(root, 'a\0b')).rejects.toThrow(PathRefused);
  });
});

describe('files', () => {
  test('write_file writes exactly the content, creating directories, and replaces what was there', async () => {
    const t = tools();
    const content = 'line one\n  indented "quoted" $HOME `tick`\nno newline at the end';
    const r = await call(t, 'write_file', { path: 'lib/deep/new.ts', content });
    expect(r).toMatchObject({
      wrote: join('lib', 'deep', 'new.ts'),
      output: `wrote ${Buffer.byteLength(content)} bytes to lib/deep/new.ts`,
    });
    expect(readFileSync(join(root, 'lib', 'deep', 'new.ts'), 'utf8')).toBe(content);
    await call(t, 'write_file', { path: 'src/app.ts', content: 'short' });
    expect(readFileSync(join(root, 'src', 'app.ts'), 'utf8')).toBe('short');
    expect(lstatSync(join(root, 'src', 'app.ts')).isFile()).toBe(true);
  });

  test('list_files, read_file and search_files (case-insensitive, literal)', async () => {
    mkdirSync(join(root, 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(root, 'node_modules', 'x', 'answer.js'), 'answer');
    const t = tools();
    expect((await call(t, 'list_files', { path: '.' })).output).toBe('README.md\nsrc/app.ts');
    expect((await call(t, 'read_file', { path: 'src/app.ts' })).output).toBe('export const answer = 41;\n');
    expect((await call(t, 'search_files', { text: 'ANSWER' })).output).toBe(
      'README.md:2: The Answer is here.\nsrc/app.ts:1: export const answer = 41;',
    );
    expect((await call(t, 'search_files', { text: '.*' })).output).toBe('(no matches)');
  });

  test('read_file shows at most the first 32 KB of a big file, and says so', async () => {
    writeFileSync(join(root, 'big.log'), 'x'.repeat(100_000));
    const out = (await call(tools(), 'read_file', { path: 'big.log' })).output;
    expect(out).toBe(`${'x'.repeat(32 * 1024)}\n…[cut: the file has 100000 bytes, only the first ${32 * 1024} are shown]`);
  });

  test("the model's mistakes come back as errors it can read, not as exceptions", async () => {
    const t = tools();
    expect((await call(t, 'read_file', { path: 'nope.txt' })).output).toBe('error: no such file or directory');
    expect((await call(t, 'read_file', { path: 'src' })).output).toBe('error: that is a directory');
    expect((await call(t, 'read_file', {})).output).toBe('error: argument "path" must be a string');
    expect((await call(t, 'delete_everything', {})).output).toMatch(/^error: there is no tool named "delete_everything"/);
  });
});

describe('commands', () => {
  test('only an allowed argv runs; anything else is refused with what is allowed', () => {
    const allow = [
      ['npm', 'test'],
      ['node', '--test', '...'],
    ];
    expect(checkCommand(['npm', 'test'], allow)).toEqual({ ok: true });
    expect(checkCommand(['node', '--test', 'a.test.js', 'b.test.js'], allow)).toEqual({ ok: true });
    expect(checkCommand(['node', '--test'], allow)).toEqual({ ok: true });
    for (const argv of [
      ['npm', 'test', '--', '--watch'],
      ['npm'],
      ['npm', 'install'],
      ['node', '-e', 'x'],
      ['sh', '-c', 'npm test'],
      ['npm test'],
      ['npm', 'test; rm -rf /'],
    ]) {
      const v = checkCommand(argv, allow);
      expect(v.ok).toBe(false);
      expect(!v.ok && v.reason).toContain('allowed: ["npm","test"], ["node","--test","..."]');
    }
    expect(checkCommand([], allow).ok).toBe(false);
    expect(checkCommand(['npm', 1], allow).ok).toBe(false);
    expect(checkCommand(['npm', 'test'], []).ok).toBe(false);
  });

  test('an allowed command runs in the workspace without a shell, and returns its exit code and output', async () => {
    const argv = [
      process.execPath,
      '-e',
      'const fs = require("fs"); console.log(fs.readdirSync(".").join(",")); console.log("$HOME;`x`"); process.exit(3)',
    ];
    const r = await call(tools([argv]), 'run_command', { argv });
    expect(r.output).toBe('exit code 3\nREADME.md,src\n$HOME;`x`');
    expect(r.logLine).toMatch(/→ exit code 3$/);
  });

  test('a refused command does not run', async () => {
    const marker = join(outside, 'ran');
    const argv = [process.execPath, '-e', `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`];
    const r = await call(tools([['npm', 'test']]), 'run_command', { argv });
    expect(r.output).toMatch(/^error: .* is not a command this project allows; allowed: \["npm","test"\]$/);
    expect(existsSync(marker)).toBe(false);
    expect((await call(tools([['npm', 'test']]), 'run_command', { argv: 'npm test' })).output).toMatch(
      /^error: argv must be a non-empty list of strings/,
    );
  });

  test("commands do not see the runner's own secrets (its Redis URL, the inference token)", async () => {
    const argv = [process.execPath, '-e', 'console.log(Object.keys(process.env).sort().join(","))'];
    const env = {
      PATH: process.env.PATH,
      SWITCHBOARD_REDIS_URL: 'redis://job:pw@r',
      SWITCHBOARD_INFERENCE_TOKEN: 't',
      OPENAI_API_KEY: 't',
      GITHUB_TOKEN: 'g',
    };
    const r = await call(tools([argv], env), 'run_command', { argv });
    expect(r.output).toBe('exit code 0\nGITHUB_TOKEN,PATH');
  });

  test('an abort stops a running command', async () => {
    const argv = [process.execPath, '-e', 'console.log("started"); setInterval(() => {}, 1000)'];
    const abort = new AbortController();
    const t = tools([argv]);
    const running = t.run({ name: 'run_command', arguments: { argv } }, abort.signal);
    abort.abort();
    expect((await running).output).toMatch(/^error: /);
  });
});

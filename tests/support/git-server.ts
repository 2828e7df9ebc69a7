// A bare git repository served by `git daemon` (git:// protocol, shallow
// clones included), so an agent without a workspace mount (a Kubernetes pod)
// can clone a project with the real git client.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.js';
import { freePort } from './free-port.js';

export interface GitServer {
  /** Clone URL of the repository, e.g. git://127.0.0.1:PORT/demo.git */
  url: string;
  close(): Promise<void>;
}

const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = new Socket();
    s.once('error', () => resolve(false));
    s.connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
  });

/** `host`: the address to listen on, reachable from the agents (the agents' network gateway, say). */
export async function serveGitRepo(name = 'demo', host = '127.0.0.1', branch = 'main'): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), 'sb-git-'));
  const bare = join(root, `${name}.git`);
  const work = join(root, 'work');
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', `init.defaultBranch=${branch}`, ...args], { cwd, stdio: 'pipe' });
  git(root, 'init', '--bare', '-q', bare);
  git(root, 'init', '-q', work);
  writeFileSync(join(work, 'README.md'), `# ${name}\n`);
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'first commit');
  git(work, 'push', '-q', bare, `HEAD:refs/heads/${branch}`);

  const port = await freePort();
  const daemon = spawn('git', ['daemon', '--export-all', '--reuseaddr', `--base-path=${root}`, `--listen=${host}`, `--port=${port}`, root], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  await eventually(() => accepts(host, port), `git daemon on port ${port}`, 10_000);
  return {
    url: `git://${host}:${port}/${name}.git`,
    async close() {
      daemon.kill();
      await exited;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

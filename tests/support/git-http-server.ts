// A bare git repository served over git's "dumb" HTTP protocol (static files
// after `git update-server-info`), so an agent without a workspace mount (a
// Kubernetes pod) can clone a project with the real git client.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';

export interface GitHttpServer {
  /** Clone URL of the repository, e.g. http://127.0.0.1:PORT/demo.git */
  url: string;
  close(): Promise<void>;
}

export async function serveGitRepo(name = 'demo', branch = 'main'): Promise<GitHttpServer> {
  const root = mkdtempSync(join(tmpdir(), 'sb-git-http-'));
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
  git(bare, 'update-server-info');

  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(root, path);
    try {
      if (!file.startsWith(bare) || !statSync(file).isFile()) throw new Error('not a file');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(readFileSync(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}.git`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

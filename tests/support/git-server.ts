// A bare git repository served by `git daemon` (git:// protocol, shallow
// clones included), so an agent without a workspace mount (a Kubernetes pod)
// can clone a project with the real git client.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', `init.defaultBranch=${branch}`, ...args], {
      cwd,
      stdio: 'pipe',
    });
  git(root, 'init', '--bare', '-q', bare);
  git(root, 'init', '-q', work);
  writeFileSync(join(work, 'README.md'), `# ${name}\n`);
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'first commit');
  git(work, 'push', '-q', bare, `HEAD:refs/heads/${branch}`);

  const port = await freePort();
  const daemon = spawn(
    'git',
    ['daemon', '--export-all', '--reuseaddr', `--base-path=${root}`, `--listen=${host}`, `--port=${port}`, root],
    { stdio: 'ignore' },
  );
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

// ---------------------------------------------------------------- smart HTTP

export interface GitHttpServer {
  /** Web base, `http://host:port`; a repository is `${url}/${path}.git`. */
  url: string;
  /** Clone URL of a repository served here. */
  repoUrl(path: string): string;
  /** The bare repository's directory (to inspect what was pushed). */
  bareDir(path: string): string;
  /** Refs of a repository: `refs/heads/main` → commit. */
  refs(path: string): Record<string, string>;
  /** Every Authorization header value that reached the server (to prove how credentials travelled). */
  authHeaders: string[];
  /** Every request line, `METHOD path?query`. */
  requests: string[];
  close(): Promise<void>;
}

export interface GitHttpOptions {
  /** Repositories to create (`acme/demo`), each with one commit on `branch`. */
  repos: string[];
  /** Pushes need HTTP Basic auth whose password is one of these; clones and fetches don't. */
  pushTokens: string[];
  /** Repositories whose pushes a pre-receive hook refuses ("protected"). */
  refusePushTo?: string[];
  host?: string;
  port?: number;
  branch?: string;
}

/**
 * Bare repositories over git's smart HTTP protocol: a small HTTP server in
 * front of `git http-backend` (CGI), as a real git host would be, with Basic
 * auth for pushes. A pre-receive hook can refuse pushes, like branch protection.
 */
export async function serveGitHttp(options: GitHttpOptions): Promise<GitHttpServer> {
  const { createServer } = await import('node:http');
  const { spawn: spawnProcess } = await import('node:child_process');
  const root = mkdtempSync(join(tmpdir(), 'sb-githttp-'));
  const branch = options.branch ?? 'main';
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', `init.defaultBranch=${branch}`, ...args], {
      cwd,
      stdio: 'pipe',
    }).toString();
  for (const path of options.repos) {
    const bare = join(root, `${path}.git`);
    const work = mkdtempSync(join(tmpdir(), 'sb-githttp-work-'));
    git(root, 'init', '--bare', '-q', bare);
    git(bare, 'config', 'http.receivepack', 'true');
    git(work, 'init', '-q');
    writeFileSync(join(work, 'README.md'), `# ${path}\n`);
    writeFileSync(join(work, 'calc.js'), 'export const add = (a, b) => a - b;\n');
    git(work, 'add', '.');
    git(work, 'commit', '-q', '-m', 'first commit');
    git(work, 'push', '-q', bare, `HEAD:refs/heads/${branch}`);
    rmSync(work, { recursive: true, force: true });
    if (options.refusePushTo?.includes(path)) {
      const hook = join(bare, 'hooks', 'pre-receive');
      writeFileSync(hook, '#!/bin/sh\necho "pushes to this repository are refused by policy" >&2\nexit 1\n', { mode: 0o755 });
    }
  }
  const authHeaders: string[] = [];
  const requests: string[] = [];
  const refsOf = (path: string): Record<string, string> => {
    if (!options.repos.includes(path)) return {};
    const out = execFileSync('git', ['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: join(root, `${path}.git`) }).toString();
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string]),
    );
  };
  const backend = existsSync('/usr/lib/git-core/git-http-backend') ? '/usr/lib/git-core/git-http-backend' : 'git-http-backend';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://git');
    // For a test in another process (the Compose stack): what the repository's refs are now.
    if (url.pathname === '/_refs') {
      const body = JSON.stringify(refsOf(url.searchParams.get('repo') ?? ''));
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const auth = req.headers.authorization;
    if (auth) authHeaders.push(auth);
    const pushing = url.pathname.endsWith('/git-receive-pack') || url.searchParams.get('service') === 'git-receive-pack';
    let user: string | undefined;
    if (auth?.startsWith('Basic ')) {
      const [name = '', ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (options.pushTokens.includes(rest.join(':'))) user = name || 'token';
    }
    if (pushing && !user) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' });
      res.end(auth ? 'invalid credentials\n' : 'authentication required\n');
      return;
    }
    const cgi = spawnProcess(backend, [], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        REQUEST_METHOD: req.method ?? 'GET',
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: req.socket.remoteAddress ?? '',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        ...(user ? { REMOTE_USER: user } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    // CGI output: header lines, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const at = line.indexOf(':');
        const name = line.slice(0, at).trim();
        const value = line.slice(at + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else if (name) headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => {
      if (!headersDone) res.writeHead(502);
      res.end();
    });
    cgi.on('error', () => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://${host}:${port}`;
  return {
    url: base,
    repoUrl: (path) => `${base}/${path}.git`,
    bareDir: (path) => join(root, `${path}.git`),
    refs: refsOf,
    authHeaders,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

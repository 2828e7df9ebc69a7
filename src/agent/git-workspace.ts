// The job's git work around the agent: a shallow clone on the job's own
// branch, then a commit of what the agent changed and a push of that branch
// alone. The tracker token reaches git only as an HTTP header in the
// environment of the one git process that needs it (never in a URL, a config
// file or an argument), and the push runs from a fresh repository of the
// runner's own, so nothing the agent wrote into the workspace's .git (hooks,
// `url.*.insteadOf`, proxies, filters, credential helpers) takes part in it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackerConfig } from '../trackers/tracker.js';

const GIT_TIMEOUT_MS = 5 * 60_000;

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** What git said that explains a failure: its `fatal:`/`error:`/`remote:`/`!` lines, else its last line. */
export function gitReason(result: GitResult): string {
  const lines = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const said = lines.filter((l) => /^(fatal|error|remote|!)/i.test(l) && !/^remote:\s*$/.test(l));
  return (said.length ? said.join(' ') : (lines.at(-1) ?? 'no output')).slice(0, 500);
}

/**
 * `git` with `env`, no shell, no terminal prompt, `input` on stdin. Settings
 * that run programs or pick other credentials are turned off for every call.
 */
export function git(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<GitResult> {
  const hardened = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'credential.helper=', '-c', 'core.askPass='];
  return new Promise((resolve) => {
    const child = execFile(
      'git',
      [...hardened, ...args],
      {
        cwd: opts.cwd,
        env: { ...opts.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '' },
        timeout: GIT_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) =>
        resolve({
          ok: !err,
          stdout: String(stdout),
          stderr: String(stderr || (err && !('code' in err && typeof err.code === 'number') ? err.message : '')),
        }),
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/**
 * The environment that hands git the token as an Authorization header, only
 * for the repository's own host (`http.<origin>/.extraHeader`), through
 * GIT_CONFIG_COUNT: nothing is written to any config file. Empty when there
 * is no token or the URL is not http(s) (ssh uses its own keys).
 */
export function authEnv(repoUrl: string, tracker: Pick<TrackerConfig, 'type'>, token: string | undefined): Record<string, string> {
  if (!token) return {};
  let origin: string;
  try {
    const url = new URL(repoUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return {};
    origin = url.origin;
  } catch {
    return {};
  }
  // GitHub takes a token as the password of x-access-token; GitLab as the password of oauth2.
  const user = tracker.type === 'github' ? 'x-access-token' : 'oauth2';
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${origin}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`,
  };
}

/** The job's branch: `switchboard/<issue>-<short job id>`. */
export function jobBranch(issue: number | undefined, jobId: string): string {
  return `switchboard/${issue ?? 'request'}-${jobId.slice(0, 8)}`;
}

/** Creates the job's branch at the cloned commit; returns that commit (the base the agent's work is measured from). */
export async function startJobBranch(
  dir: string,
  branch: string,
  env: NodeJS.ProcessEnv,
): Promise<{ ok: true; base: string } | { ok: false; reason: string }> {
  const made = await git(['checkout', '-q', '-b', branch], { cwd: dir, env });
  if (!made.ok) return { ok: false, reason: `could not create the branch ${branch}: ${gitReason(made)}` };
  const head = await git(['rev-parse', 'HEAD'], { cwd: dir, env });
  return head.ok ? { ok: true, base: head.stdout.trim() } : { ok: false, reason: `could not read the cloned commit: ${gitReason(head)}` };
}

export type CommitOutcome = { kind: 'unchanged' } | { kind: 'committed'; commit: string } | { kind: 'error'; reason: string };

/**
 * Commits whatever the agent left in the working tree (new files included)
 * as `author`; the agent's own commits since `base` count as changes too.
 */
export async function commitWork(
  dir: string,
  base: string,
  opts: { author: { name: string; email: string }; message: string; env: NodeJS.ProcessEnv },
): Promise<CommitOutcome> {
  const { env } = opts;
  const status = await git(['status', '--porcelain', '--untracked-files=all'], { cwd: dir, env });
  if (!status.ok) return { kind: 'error', reason: `git status failed: ${gitReason(status)}` };
  if (status.stdout.trim()) {
    const added = await git(['add', '-A'], { cwd: dir, env });
    if (!added.ok) return { kind: 'error', reason: `git add failed: ${gitReason(added)}` };
    const who = opts.author;
    const committed = await git(
      [
        '-c',
        `user.name=${who.name}`,
        '-c',
        `user.email=${who.email}`,
        '-c',
        'commit.gpgsign=false',
        'commit',
        '-q',
        '--no-verify',
        '-F',
        '-',
      ],
      {
        cwd: dir,
        env: {
          ...env,
          GIT_AUTHOR_NAME: who.name,
          GIT_AUTHOR_EMAIL: who.email,
          GIT_COMMITTER_NAME: who.name,
          GIT_COMMITTER_EMAIL: who.email,
        },
        input: opts.message,
      },
    );
    if (!committed.ok) return { kind: 'error', reason: `git commit failed: ${gitReason(committed)}` };
  }
  const head = await git(['rev-parse', 'HEAD'], { cwd: dir, env });
  if (!head.ok) return { kind: 'error', reason: `could not read the commit: ${gitReason(head)}` };
  const commit = head.stdout.trim();
  return commit === base ? { kind: 'unchanged' } : { kind: 'committed', commit };
}

/**
 * Pushes `commit` as `refs/heads/<branch>` to `repoUrl`, and nothing else:
 * the commit is first fetched into a fresh bare repository of the runner's
 * (no hooks, no config from the workspace, no global or system config), and
 * only that repository's push sees the token.
 */
export async function pushJobBranch(
  workspace: string,
  opts: { repoUrl: string; branch: string; commit: string; env: NodeJS.ProcessEnv; auth: Record<string, string> },
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const clean: NodeJS.ProcessEnv = { ...withoutGitSettings(opts.env), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  const dir = await mkdtemp(join(tmpdir(), 'sb-push-'));
  try {
    const init = await git(['init', '-q', '--bare', dir], { cwd: dir, env: clean });
    if (!init.ok) return { ok: false, reason: `could not prepare the push: ${gitReason(init)}` };
    const ref = `refs/heads/${opts.branch}`;
    const fetched = await git(['fetch', '-q', '--no-tags', '--update-shallow', workspace, `${opts.commit}:${ref}`], {
      cwd: dir,
      env: clean,
    });
    if (!fetched.ok) return { ok: false, reason: `could not take the commit from the workspace: ${gitReason(fetched)}` };
    const pushed = await git(['push', '--porcelain', opts.repoUrl, `${ref}:${ref}`], { cwd: dir, env: { ...clean, ...opts.auth } });
    if (!pushed.ok) return { ok: false, reason: gitReason(pushed) };
    return { ok: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The runner's env without GIT_* settings (a GIT_DIR or GIT_CONFIG_* there would redirect the push). */
function withoutGitSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('GIT_')));
}

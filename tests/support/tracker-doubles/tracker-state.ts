// What both tracker doubles (GitHub, GitLab) know: repositories with issues,
// tokens with an access level per repository, and the pull/merge requests
// opened on them. Tests seed it and read it back; no client library in here.

export type Access = 'none' | 'read' | 'write';

export interface SeedComment {
  author: string;
  body: string;
  /** ISO time; defaults to one minute apart in the given order. */
  createdAt?: string;
}

export interface SeedIssue {
  title: string;
  body: string;
  labels?: string[];
  comments?: SeedComment[];
}

export interface OpenedRequest {
  number: number;
  repo: string;
  head: string;
  base: string;
  title: string;
  body: string;
  url: string;
  /** The token it was opened with. */
  by: string;
}

export interface TokenGrant {
  /** Access per repository (`owner/name`); repositories not named: none. */
  repos: Record<string, Access>;
  /** Requests left before the rate limit answers (undefined: unlimited). */
  remaining?: number;
}

export interface TrackerDoubleOptions {
  issues: Record<string, Record<number, SeedIssue>>;
  tokens: Record<string, TokenGrant>;
  /** Whether `branch` exists in `repo` (a real git server's bare repository); default: always. */
  branchExists?: (repo: string, branch: string) => boolean;
  host?: string;
  port?: number;
  /** The web base its links use when clients reach it by another name (a Compose service); default http://host:port. */
  publicUrl?: string;
}

export class TrackerState {
  readonly opened: OpenedRequest[] = [];
  /** Every request, `METHOD path`, in arrival order. */
  readonly requests: string[] = [];
  /** Every token value any request carried (to prove which credentials reached the API). */
  readonly tokensSeen = new Set<string>();

  constructor(readonly options: TrackerDoubleOptions) {}

  issue(repo: string, n: number): SeedIssue | undefined {
    return this.options.issues[repo.toLowerCase()]?.[n] ?? this.options.issues[repo]?.[n];
  }

  hasRepo(repo: string): boolean {
    return Object.keys(this.options.issues).some((r) => r.toLowerCase() === repo.toLowerCase());
  }

  access(token: string | undefined, repo: string): Access | 'unknown-token' {
    if (token === undefined) return 'none';
    const grant = this.options.tokens[token];
    if (!grant) return 'unknown-token';
    const found = Object.entries(grant.repos).find(([r]) => r.toLowerCase() === repo.toLowerCase());
    return found?.[1] ?? 'none';
  }

  /** Counts one request against the token's budget; false when it is used up. */
  spend(token: string | undefined): { ok: boolean; remaining: number } {
    const grant = token === undefined ? undefined : this.options.tokens[token];
    if (!grant || grant.remaining === undefined) return { ok: true, remaining: 4999 };
    if (grant.remaining <= 0) return { ok: false, remaining: 0 };
    grant.remaining -= 1;
    return { ok: true, remaining: grant.remaining };
  }

  branchExists(repo: string, branch: string): boolean {
    return this.options.branchExists?.(repo, branch) ?? true;
  }

  commentsOf(issue: SeedIssue): Required<SeedComment>[] {
    const start = Date.parse('2026-01-01T00:00:00Z');
    return (issue.comments ?? []).map((c, i) => ({ ...c, createdAt: c.createdAt ?? new Date(start + i * 60_000).toISOString() }));
  }
}

/** Reads a JSON request body (the doubles accept nothing else). */
export async function readJson(req: import('node:http').IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function sendJson(
  res: import('node:http').ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

// Redaction: what may be printed about the configuration, and scrubbing known
// secret values out of free text (error messages, agent log lines).
import { SETTINGS, type Config, type SecretKind } from './env.js';

const MASK = '***';

/** `xoxb-…(redacted)`: keeps only a well-known, non-secret token prefix. */
export function redactToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const prefix = /^(xox[a-z]|xapp)-/.exec(token)?.[0];
  return prefix ? `${prefix}…(redacted)` : '(redacted)';
}

/**
 * Masks credentials in a URL (`redis://:pass@host` → `redis://:***@host`,
 * `redis://user:pass@host` → `redis://user:***@host`) and `password`/`token`
 * query parameters. A URL with a lone userinfo part (`redis://secret@host`)
 * has the whole part masked, since some clients read it as the password.
 * Strings that are not URLs are returned unchanged.
 */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@(.*)$/i.exec(url);
  let out = url;
  if (m) {
    const [, scheme, userinfo = '', rest] = m;
    const colon = userinfo.indexOf(':');
    const masked = colon === -1 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`;
    out = `${scheme}${masked}@${rest}`;
  }
  return out.replace(/([?&](?:password|pass|token|secret|auth)=)[^&#]*/gi, `$1${MASK}`);
}

function valueAt(config: Config, path: readonly string[]): unknown {
  let v: unknown = config;
  for (const key of path) v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[key];
  return v;
}

function shown(value: unknown, secret: SecretKind | undefined): unknown {
  if (typeof value !== 'string') return value;
  switch (secret) {
    case 'token':
      return redactToken(value);
    case 'secret':
      return '(redacted)';
    case 'url':
      return value.split(',').map(redactUrl).join(','); // OLLAMA_URL may list several
    case undefined:
      return value;
  }
}

/** A copy of the configuration that is safe to log: each setting shown as its schema entry says (env.ts). */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = valueAt(config, s.path);
    let group = out;
    for (const key of s.path.slice(0, -1)) group = (group[key] ??= {}) as Record<string, unknown>;
    if (value !== undefined) group[s.path[s.path.length - 1]!] = shown(value, s.secret);
  }
  return out;
}

/** The secret values in a configuration, for `redactSecrets`: every secret setting, and the credentials of URL settings. */
export function configSecrets(config: Config): string[] {
  const secrets: string[] = [];
  for (const s of SETTINGS) {
    const value = valueAt(config, s.path);
    if (typeof value !== 'string' || s.secret === undefined) continue;
    if (s.secret !== 'url') {
      secrets.push(value);
      continue;
    }
    for (const part of value.split(',')) {
      try {
        const u = new URL(part);
        if (u.password) secrets.push(decodeURIComponent(u.password), u.password);
        else if (u.username) secrets.push(decodeURIComponent(u.username), u.username);
      } catch {
        // not a URL (a socket path): nothing to extract
      }
    }
  }
  return secrets.filter((s) => s !== '');
}

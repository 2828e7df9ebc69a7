// Redaction: what may be printed about the configuration, and scrubbing known
// secret values out of free text (error messages, agent log lines).
import type { Config } from './env.js';

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

/** A copy of the configuration that is safe to log. */
export function redactConfig(config: Config): Record<string, unknown> {
  const slack: Record<string, unknown> = {
    mode: config.slack.mode,
    botToken: redactToken(config.slack.botToken),
    apiUrl: redactUrl(config.slack.apiUrl),
  };
  if (config.slack.appToken !== undefined) slack.appToken = redactToken(config.slack.appToken);
  if (config.slack.signingSecret !== undefined) slack.signingSecret = '(redacted)';

  const out: Record<string, unknown> = {
    slack,
    port: config.port,
    redis: { url: redactUrl(config.redis.url), prefix: config.redis.prefix },
    spawner: { ...config.spawner, dockerHost: redactUrl(config.spawner.dockerHost) },
    projectsFile: config.projectsFile,
    maxConcurrentJobs: config.maxConcurrentJobs,
    logLevel: config.logLevel,
  };
  if (config.ollamaUrl !== undefined) out.ollamaUrl = redactUrl(config.ollamaUrl);
  return out;
}

/** The secret values in a configuration, for `redactSecrets`. */
export function configSecrets(config: Config): string[] {
  const secrets = [config.slack.botToken, config.slack.appToken, config.slack.signingSecret];
  for (const url of [config.redis.url, config.ollamaUrl]) {
    if (url === undefined) continue;
    try {
      const u = new URL(url);
      if (u.password) secrets.push(decodeURIComponent(u.password), u.password);
      else if (u.username) secrets.push(decodeURIComponent(u.username), u.username);
    } catch {
      // not a URL: nothing to extract
    }
  }
  return secrets.filter((s): s is string => s !== undefined && s !== '');
}

/** Secrets shorter than this are ignored: replacing them would shred ordinary text. */
export const MIN_SECRET_LENGTH = 6;

/**
 * Replaces every occurrence of each secret value (and its URL-encoded form)
 * with `[redacted]`. Longer secrets are replaced first, so a secret that
 * contains another is removed whole.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const variants = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    variants.add(s);
    variants.add(encodeURIComponent(s));
  }
  let out = text;
  for (const s of [...variants].sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('[redacted]');
  }
  return out;
}

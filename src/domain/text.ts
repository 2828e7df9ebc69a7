// Rules for text that comes from people and agents and is shown or logged:
// credentials in URLs are stripped, and a link is only a link when it is
// plainly one. Pure and linear in the length of the text (agents print a lot).

const USERINFO_END = new Set([
  ' ',
  '\t',
  '\n',
  '\r',
  '\f',
  '\v',
  '/',
  '?',
  '#',
  '<',
  '>',
  '|',
  '"',
  "'",
  '`',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
]);

/**
 * Removes the credentials of every URL in `text`:
 * `https://oauth2:TOKEN@github.com/acme/demo.git` → `https://github.com/acme/demo.git`.
 * A password containing `@` is removed whole (up to the last `@` before the host).
 */
export function stripUrlCredentials(text: string): string {
  let out = '';
  let from = 0;
  for (let at = text.indexOf('://'); at !== -1; at = text.indexOf('://', at + 3)) {
    const start = at + 3;
    if (start < from) continue;
    let end = start;
    let lastAt = -1;
    while (end < text.length && !USERINFO_END.has(text[end]!)) {
      if (text[end] === '@') lastAt = end;
      end++;
    }
    if (lastAt >= start) {
      out += text.slice(from, start);
      from = lastAt + 1;
    }
    at = Math.max(at, end - 3);
  }
  return out + text.slice(from);
}

/**
 * Whether `url` may be shown as a link: an https URL without credentials and
 * without `|`, `<` or `>` (which would let it pick its own label or end the
 * link early in Slack markup) or whitespace.
 */
export function isSafeLinkUrl(url: string): boolean {
  if (!/^https:\/\/[^\s|<>]+$/i.test(url)) return false;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.username === '' && u.password === '' && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Cuts `text` to at most `max` characters, saying so at the end. */
export function capText(text: string, max: number, marker = ' …[cut: too long]'): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - marker.length))}${marker}`;
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

/** What a person is told when something broke on our side: the ref finds the log lines (chat/chat-event.ts). */
export function internalError(ref: string): string {
  return `internal error, ref \`${ref}\``;
}

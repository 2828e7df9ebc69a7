// The chat language (DESIGN §2): Slack text → Intent. Pure: no Slack, Redis or
// catalogue access; the caller resolves projects and permissions.
//
// Addressed vs unaddressed. A message is addressed when it is an @mention, a
// DM or a slash command (ctx.addressed), or when it mentions ctx.botUserId.
// - Addressed: a grammar form gives its intent; anything else is `unknown`
//   (the light inference route may interpret it and confirm with buttons).
// - Unaddressed: only a message that is, as a whole, one of the grammar's forms
//   is a command (`fix #58 in billing-api`, `#58 in billing-api`, `status`).
//   Anything else is `ignore`, including messages that start with a verb but
//   do not parse, like "fix the build later": people say "fix" in
//   conversation, and a bot that answers chatter is worse than one that stays
//   quiet. The bare `?` is help only when addressed, for the same reason.

import { AGENT_NAME, PROJECT_NAME } from './project.js';

export type Intent =
  /** `agent`: one of the project's named agents (`… with aider`) instead of its default. */
  | { kind: 'fix'; issue: number; project?: string; repo?: string; agent?: string }
  | { kind: 'status' }
  | { kind: 'cancel' }
  | { kind: 'list' }
  | { kind: 'projects' }
  | { kind: 'retry' }
  | { kind: 'help' }
  /** Addressed to the bot but not understood. `hint` is set for near misses (`fix the build`). */
  | { kind: 'unknown'; text: string; hint?: string }
  | { kind: 'ignore' };

export interface ParseContext {
  /** True for an @mention, a DM or the slash command. */
  addressed: boolean;
  /** The bot's user ID: its mentions are stripped, and a mention makes the message addressed. */
  botUserId?: string;
}

export interface GrammarEntry {
  examples: string[];
  meaning: string;
}

export const MAX_ISSUE = 1e9;
/**
 * Longer messages are refused before parsing (the caller's job: parseIntent
 * itself is linear, see bench/intent-parse). Ample for any command; Slack's
 * own limit is 40,000.
 */
export const MAX_MESSAGE_LENGTH = 4000;

// ---------------------------------------------------------------- normalising

const SMART_SINGLE = /[\u2018\u2019\u201A\u201B\u2032]/g;
const SMART_DOUBLE = /[\u201C\u201D\u201E\u201F\u2033\u00AB\u00BB]/g;
const ODD_SPACES = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;
const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]/g;

/**
 * Turns Slack's wire format into plain text: mentions stripped (only the
 * bot's when `botUserId` is given; other mentions stay as `<@U…>`), links
 * `<url|label>` and `<url>` become the URL, `<#C123|name>` becomes `#name`,
 * `<!here>` becomes `@here`, entities decoded, smart quotes made plain,
 * whitespace collapsed, leading `:`/`,` (after a mention) and trailing
 * `.,!?` removed — unless nothing else is left (`?` stays `?`).
 */
export function normalizeSlackText(text: string, botUserId?: string): string {
  let s = text.replace(/<([^<>]*)>/g, (whole, inner: string) => {
    const bar = inner.indexOf('|');
    const target = bar === -1 ? inner : inner.slice(0, bar);
    const label = bar === -1 ? '' : inner.slice(bar + 1);
    if (target.startsWith('@')) {
      const id = target.slice(1);
      if (botUserId === undefined || id === botUserId) return ' ';
      return `<@${id}>`;
    }
    if (target.startsWith('#')) return `#${label || target.slice(1)}`;
    if (target.startsWith('!')) {
      if (label) return label;
      const special = target.slice(1).split('^')[0] ?? '';
      return `@${special}`;
    }
    if (/^mailto:/i.test(target)) return label || target.slice('mailto:'.length);
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return target;
    return whole;
  });
  s = s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  s = s.replace(SMART_SINGLE, "'").replace(SMART_DOUBLE, '"').replace(ZERO_WIDTH, '').replace(ODD_SPACES, ' ');
  s = s.replace(/\s+/g, ' ').trim();
  s = s.replace(/^[:,;\s]+/, '');
  const trimmed = trimEnd(s, TRAILING_PUNCTUATION);
  return trimmed === '' ? s : trimmed;
}

// Trailing trims are loops, not `/[…]+$/` regexes: V8 retries such a regex at
// every position of a long run that does not reach the end, which is
// quadratic (a 40,000-character message took seconds). See bench/intent-adversarial.
const TRAILING_PUNCTUATION = new Set([' ', '.', ',', '!', '?']);
const SEPARATORS = new Set([' ', ',']);
const QUOTES = new Set(['"', "'", '`']);

function trimEnd(s: string, chars: ReadonlySet<string>, end = s.length): string {
  while (end > 0 && chars.has(s[end - 1]!)) end--;
  return s.slice(0, end);
}

function trimStart(s: string, chars: ReadonlySet<string>): string {
  let start = 0;
  while (start < s.length && chars.has(s[start]!)) start++;
  return s.slice(start);
}

const TRAILING_POLITE = ['thank you', 'please', 'thanks', 'pls', 'plz', 'thx', 'ty'];

/** Drops `, thanks`, ` please`, … (each after a space or comma) from the end; linear in the length. */
function stripTrailingPolite(s: string): string {
  let end = s.length;
  for (;;) {
    const word = TRAILING_POLITE.find((w) => end >= w.length && s.slice(end - w.length, end).toLowerCase() === w);
    if (word === undefined) break;
    let cut = end - word.length;
    const before = cut;
    while (cut > 0 && SEPARATORS.has(s[cut - 1]!)) cut--;
    if (cut === before) break; // part of a longer word ("party")
    end = cut;
  }
  return s.slice(0, end);
}

/** Drops politeness that does not change the meaning: `please fix …`, `… thanks`. */
function stripPolite(s: string): string {
  let out = s.replace(/^(?:(?:please|pls|plz|kindly|can you|could you|would you)\s+)+/i, '');
  out = trimEnd(stripTrailingPolite(out), TRAILING_PUNCTUATION);
  return out === '' ? s : out;
}

// ---------------------------------------------------------------- fix

type Fix = Extract<Intent, { kind: 'fix' }>;
type FixResult = { fix: Fix } | { hint: string } | null;

const FIX_HINT = 'To start a job, name the issue and the project, like `fix #58 in billing-api`. Say `help` for everything I understand.';
const ISSUE_HINT = 'Issue numbers are whole numbers from 1, like `fix #58 in billing-api`.';

const REPO_PATH = /^[\w.-]+(?:\/[\w.-]+)+$/;

/** `https://github.com/acme/billing-api/issues/58` (also `/pull/58`, GitLab's `/-/issues/58`, `/-/merge_requests/58`). */
export function parseIssueUrl(text: string): { repo: string; issue: number } | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const m = /^\/(.+?)\/(?:-\/)?(?:issues|pull|pulls|merge_requests)\/(\d+)\/?(?:\/.*)?$/.exec(url.pathname);
  if (!m) return undefined;
  const repo = (m[1] ?? '').replace(/\/+$/, '');
  const issue = Number(m[2]);
  // Only owner/name paths as the slug form reads them: not percent-escapes, `@` or an empty first segment.
  if (!REPO_PATH.test(repo) || !validIssue(issue)) return undefined;
  return { repo, issue };
}

function validIssue(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n < MAX_ISSUE;
}

/**
 * The `fix` forms. Returns a hint for near misses (it starts with `fix` or
 * names an issue, but something is off) so addressed users learn the form.
 */
function parseFix(s: string): FixResult {
  let rest = s;
  const verb = /^fix\s+/i.exec(rest);
  if (verb) rest = rest.slice(verb[0].length);
  const noun = /^(?:the\s+)?(?:issue|bug|ticket)\s+/i.exec(rest);
  if (noun) rest = rest.slice(noun[0].length);
  if (!verb && !noun && !rest.startsWith('#')) return null;

  // Only `in` introduces the project: "fix #58 on monday" is chatter, not a project. Only `with` names an agent.
  const m =
    /^(\S+)(?:\s+in\s+(?:the\s+)?(?:project\s+)?(\S+?)(?:\s+project)?)?(?:\s+(?:with|using)\s+(?:the\s+)?(\S+?)(?:\s+agent)?)?$/i.exec(
      rest,
    );
  if (!m) return verb ? { hint: FIX_HINT } : null;
  const ref = unquote(m[1] ?? '');
  const project = m[2] === undefined ? undefined : unquote(m[2]);
  const agent = m[3] === undefined ? undefined : unquote(m[3]);

  let issue: number | undefined;
  let repo: string | undefined;
  let numberText: string | undefined;
  const hash = /^#(\d+)$/.exec(ref);
  const bare = /^(\d+)$/.exec(ref);
  const slug = /^([\w.-]+(?:\/[\w.-]+)+)#(\d+)$/.exec(ref);
  if (hash) numberText = hash[1];
  else if (bare && (verb || noun)) numberText = bare[1];
  else if (slug) {
    repo = slug[1];
    numberText = slug[2];
  } else if (/^https?:\/\//i.test(ref)) {
    const fromUrl = parseIssueUrl(ref);
    if (!fromUrl)
      return verb
        ? { hint: `I can read issue and pull request links like https://github.com/acme/billing-api/issues/58. ${FIX_HINT}` }
        : null;
    ({ repo, issue } = fromUrl);
  } else {
    return verb ? { hint: FIX_HINT } : null;
  }
  if (numberText !== undefined) {
    issue = Number(numberText);
    if (!validIssue(issue)) return verb || project ? { hint: ISSUE_HINT } : null;
  }
  if (issue === undefined) return null;

  // Without the verb only the whole form `#58 in billing-api` counts.
  if (!verb && !(project && (hash || noun))) return null;
  if (project !== undefined && !PROJECT_NAME.test(project)) {
    return { hint: `"${project}" is not a project name. Say \`projects\` to see the ones you can use.` };
  }

  if (agent !== undefined && !AGENT_NAME.test(agent)) {
    return { hint: `"${agent}" is not an agent name. Leave out \`with …\` for the project's own agent.` };
  }

  const fix: Fix = { kind: 'fix', issue };
  if (project !== undefined) fix.project = project;
  if (repo !== undefined) fix.repo = repo;
  if (agent !== undefined) fix.agent = agent;
  return { fix };
}

/** `"billing-api"`, `'billing-api'` and `\`billing-api\`` all mean billing-api. */
function unquote(token: string): string {
  return trimEnd(trimStart(token, QUOTES), QUOTES);
}

function fixWhere(s: string, accept: (f: Fix) => boolean): Intent | null {
  const r = parseFix(s);
  return r && 'fix' in r && accept(r.fix) ? r.fix : null;
}

// ---------------------------------------------------------------- grammar

interface Rule extends GrammarEntry {
  parse(text: string, addressed: boolean): Intent | null;
}

const simple =
  (re: RegExp, intent: Intent) =>
  (text: string): Intent | null =>
    re.test(text) ? intent : null;

const JOB_OBJECT = String.raw`(?:\s+(?:it|this|that|(?:the\s+|this\s+|my\s+)?job))?`;

// The single table behind both the parser and `help` (DESIGN §2). Each row's
// examples must parse to its own meaning; the unit tests check that.
const RULES: readonly Rule[] = [
  {
    examples: ['fix #58 in billing-api', 'fix 58 in billing-api', '#58 in billing-api'],
    meaning: 'start a job for issue 58 of that project',
    parse: (t) => fixWhere(t, (f) => f.project !== undefined && f.repo === undefined),
  },
  {
    examples: ['fix #58'],
    meaning: "this channel's project (the one pinned to it, or the only one it may use), else I ask which",
    parse: (t) => fixWhere(t, (f) => f.project === undefined && f.repo === undefined),
  },
  {
    examples: ['fix https://github.com/acme/billing-api/issues/58', 'fix acme/billing-api#58'],
    meaning: 'the project is found from the repository',
    parse: (t) => fixWhere(t, (f) => f.repo !== undefined),
  },
  {
    examples: ['fix #58 in billing-api with aider'],
    meaning: "the same, with one of the project's named agents instead of its default",
    parse: (t) => fixWhere(t, (f) => f.agent !== undefined),
  },
  {
    examples: ['status'],
    meaning: "this channel's job: step, elapsed time, link to its thread",
    parse: simple(/^(?:show\s+)?status$/i, { kind: 'status' }),
  },
  {
    examples: ['cancel', 'stop'],
    meaning: "cancel a job: in its thread that job, elsewhere this channel's (or press Cancel on its status)",
    parse: simple(new RegExp(`^(?:cancel|stop)${JOB_OBJECT}$`, 'i'), { kind: 'cancel' }),
  },
  {
    examples: ['list', 'jobs'],
    meaning: 'running and queued jobs you may see, with their places in the queue',
    parse: simple(/^(?:(?:list|show)(?:\s+(?:all\s+|the\s+)?jobs)?|jobs)$/i, { kind: 'list' }),
  },
  {
    examples: ['projects'],
    meaning: 'the projects this channel may use',
    parse: simple(/^(?:(?:list|show)\s+(?:all\s+|the\s+)?)?projects$/i, { kind: 'projects' }),
  },
  {
    examples: ['retry'],
    meaning: "in a finished job's thread: run the same job again (or press Retry on its result)",
    parse: simple(new RegExp(`^retry${JOB_OBJECT}$`, 'i'), { kind: 'retry' }),
  },
  {
    examples: ['help', '?'],
    meaning: 'this list',
    parse: (t, addressed) => (/^help$/i.test(t) || (addressed && /^\?+$/.test(t)) ? { kind: 'help' } : null),
  },
];

export const GRAMMAR: readonly GrammarEntry[] = RULES.map(({ examples, meaning }) => ({ examples, meaning }));

/** Whether a message speaks to the bot: an @mention, a DM, the slash command, or a mention of the bot in the text. */
export function isAddressed(text: string, ctx: ParseContext): boolean {
  return ctx.addressed || (ctx.botUserId !== undefined && text.includes(`<@${ctx.botUserId}`));
}

/** Parses one message. See the header comment for addressed vs unaddressed. */
export function parseIntent(text: string, ctx: ParseContext): Intent {
  const addressed = isAddressed(text, ctx);
  const s = normalizeSlackText(text, ctx.botUserId);
  if (s === '') return addressed ? { kind: 'help' } : { kind: 'ignore' };

  const core = stripPolite(s);
  for (const rule of RULES) {
    const intent = rule.parse(core, addressed);
    if (intent) return intent;
  }
  if (!addressed) return { kind: 'ignore' };
  const near = parseFix(core);
  return near && 'hint' in near ? { kind: 'unknown', text: s, hint: near.hint } : { kind: 'unknown', text: s };
}

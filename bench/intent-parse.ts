// Chat parsing speed: every Slack message the bot can see goes through this.
//
// Ours:     normalizeSlackText then parseIntent, exactly as
//           src/chat/chat-requests.ts calls them.
// Baseline: text.toLowerCase().split(/\s+/) — the cheapest tokenising a
//           parser could possibly do, over the same messages.
import { normalizeSlackText, parseIntent, type Intent } from '../src/domain/intents.js';
import { median, nowMs, pick, prng, type Row } from './support.js';

const MESSAGES = 10_000;
const PASSES_PER_SAMPLE = 10; // 100k messages per timed sample
const WARMUP_PASSES = 5;
const REPEATS = 5;
/** Parsing may cost at most 20× the bare tokenising baseline (measured ~0.08–0.10). An
 * absolute floor swung with the machine's load; a ratio to the same-run baseline does not. */
export const INTENT_TARGET_RATIO = 0.05;
const BOT = 'U0SWITCHB';

interface Msg {
  text: string;
  addressed: boolean;
}

/** A deterministic mix: commands, chatter, Slack formatting, URLs; most of it unaddressed chatter. */
function messages(n: number): Msg[] {
  const rand = prng(2024);
  const projects = ['billing-api', 'web', 'payments.core', 'infra_tools', 'search-v2'];
  const issue = () => 1 + Math.floor(rand() * 9000);
  const commands: (() => string)[] = [
    () => `fix #${issue()} in ${pick(rand, projects)}`,
    () => `fix ${issue()} in the ${pick(rand, projects)} project`,
    () => `#${issue()} in ${pick(rand, projects)}`,
    () => `please fix #${issue()} in \u201C${pick(rand, projects)}\u201D thanks!`,
    () => `fix #${issue()}`,
    () => `fix <https://github.com/acme/${pick(rand, projects)}/issues/${issue()}>`,
    () => `fix <https://gitlab.example.com/acme/${pick(rand, projects)}/-/merge_requests/${issue()}|MR ${issue()}>`,
    () => `fix acme/${pick(rand, projects)}#${issue()}`,
    () =>
      pick(rand, [
        'status',
        'show status',
        'cancel',
        'stop this job',
        'list',
        'show all jobs',
        'jobs',
        'projects',
        'retry',
        'retry it',
        'help',
        '?',
      ]),
  ];
  const chatter: (() => string)[] = [
    () => 'fix the build later, I am heading out for lunch',
    () => `hey <@U0${Math.floor(rand() * 1e6)}> did you see <#C0123ABC|deploys>? the &lt;canary&gt; is red again :fire:`,
    () =>
      `PR is up: <https://github.com/acme/${pick(rand, projects)}/pull/${issue()}|#${issue()}> \u2014 can someone review? \u2019tis small`,
    () => '<!here> standup in 5 min, join <https://meet.example.com/abc-defg-hij>',
    () => `I think #${issue()} is a dupe of #${issue()}, closing it on monday`,
    () => "```\nTypeError: Cannot read properties of undefined (reading 'id')\n    at handler (src/app.ts:42:13)\n```",
    () => `status of ${pick(rand, projects)} deploy? anyone?`,
    () => 'ok\u00A0thanks \u200Bfor the help &amp; the quick turnaround!!',
    () => `Logs are at <https://logs.example.com/app?q=level%3Aerror&from=now-1h|here>, mostly timeouts from ${pick(rand, projects)}`,
    () => 'lol',
    () => `:+1: ${'looks good to me, ship it '.repeat(1 + Math.floor(rand() * 6))}`,
  ];
  const out: Msg[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.25) out.push({ text: pick(rand, commands)(), addressed: false });
    else if (r < 0.4) out.push({ text: `<@${BOT}> ${pick(rand, commands)()}`, addressed: true });
    else if (r < 0.45) out.push({ text: `<@${BOT}> ${pick(rand, chatter)()}`, addressed: true });
    else out.push({ text: pick(rand, chatter)(), addressed: false });
  }
  return out;
}

/** The path of src/chat/chat-requests.ts. */
function ours(msgs: readonly Msg[]): number {
  let sink = 0;
  for (const m of msgs) {
    const text = normalizeSlackText(m.text, BOT);
    const intent: Intent = parseIntent(text, { addressed: m.addressed, botUserId: BOT });
    sink += intent.kind.length;
  }
  return sink;
}

function baseline(msgs: readonly Msg[]): number {
  let sink = 0;
  for (const m of msgs) sink += m.text.toLowerCase().split(/\s+/).length;
  return sink;
}

/** Messages per second over PASSES_PER_SAMPLE passes. */
function sample(fn: (m: readonly Msg[]) => number, msgs: readonly Msg[]): { perS: number; sink: number } {
  let sink = 0;
  const t0 = nowMs();
  for (let p = 0; p < PASSES_PER_SAMPLE; p++) sink += fn(msgs);
  const ms = nowMs() - t0;
  return { perS: ((msgs.length * PASSES_PER_SAMPLE) / ms) * 1000, sink };
}

export function benchIntentParse(): Row[] {
  const msgs = messages(MESSAGES);
  const kinds = new Map<string, number>();
  for (const m of msgs) {
    const k = parseIntent(normalizeSlackText(m.text, BOT), { addressed: m.addressed, botUserId: BOT }).kind;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  let sink = 0;
  for (let i = 0; i < WARMUP_PASSES; i++) sink += ours(msgs) + baseline(msgs);
  const o: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const sb = sample(baseline, msgs);
    const so = sample(ours, msgs);
    b.push(sb.perS);
    o.push(so.perS);
    sink += sb.sink + so.sink;
  }
  const om = median(o);
  const bm = median(b);
  const mix = [...kinds.entries()]
    .sort((x, y) => y[1] - x[1])
    .map(([k, c]) => `${k} ${((c / msgs.length) * 100).toFixed(0)}%`)
    .join(', ');
  return [
    {
      bench: 'intent-parse',
      metric: `normalize+parseIntent, ${MESSAGES.toLocaleString('en-US')} msgs`,
      ours: om,
      baseline: bm,
      unit: 'msgs/s',
      ratio: om / bm,
      target: `ratio ≥ ${INTENT_TARGET_RATIO}`,
      pass: om / bm >= INTENT_TARGET_RATIO,
      note: `intent mix: ${mix} (checksum ${sink % 997})`,
    },
  ];
}

// Chat parsing on hostile input: anyone in the workspace can send the bot a
// message built to make a regex backtrack. The parser must stay linear.
//
// Ours:     normalizeSlackText then parseIntent on adversarial messages of
//           4,000 characters (MAX_MESSAGE_LENGTH, the longest the bot reads).
// Baseline: the same on messages of 400 characters built the same way.
// Ratio:    time(4,000) / time(400). Linear code gives ≈ 10; quadratic code
//           gives ≈ 100. Target: ≤ 15 for the worst shape.
import { MAX_MESSAGE_LENGTH, normalizeSlackText, parseIntent } from '../src/domain/intents.js';
import { median, nowMs, type Row } from './support.js';

const BOT = 'U0SWITCHB';
const SHORT = MAX_MESSAGE_LENGTH / 10;
const REPEATS = 7;
export const ADVERSARIAL_TARGET_RATIO = 15;

/** Each shape repeats a unit to `n` characters and ends so that trailing rules fail late. */
const SHAPES: Record<string, (n: number) => string> = {
  'trailing punctuation': (n) => `fix #58 in a${'.'.repeat(n - 14)}b`,
  'spaced punctuation': (n) => `fix${' ,'.repeat((n - 4) / 2)}x`,
  'trailing politeness': (n) => `fix #58 in demo${', please'.repeat((n - 16) / 8)}!x`,
  'leading politeness': (n) => `${'please '.repeat((n - 12) / 7)}fix #58 in`,
  'quotes in a token': (n) => `fix #58 in ${'"'.repeat(n - 12)}x`,
  'mentions and links': (n) => `<@${BOT}> ${'<@U1|<#C1|<http://x|'.repeat((n - 12) / 20)}`,
  'words without end': (n) => `fix ${'a '.repeat((n - 4) / 2)}`,
};

function timePerMessage(text: string, addressed: boolean): number {
  // Enough passes that a sample takes a few ms even for the short input.
  const passes = Math.max(5, Math.ceil(200_000 / text.length));
  let sink = 0;
  const t0 = nowMs();
  for (let i = 0; i < passes; i++) sink += parseIntent(normalizeSlackText(text, BOT), { addressed, botUserId: BOT }).kind.length;
  const ms = (nowMs() - t0) / passes;
  if (sink < 0) console.log(sink);
  return ms;
}

export function benchIntentAdversarial(): Row[] {
  const rows: { shape: string; short: number; long: number; ratio: number }[] = [];
  for (const [shape, make] of Object.entries(SHAPES)) {
    const short = make(SHORT);
    const long = make(MAX_MESSAGE_LENGTH);
    for (let i = 0; i < 3; i++) {
      timePerMessage(short, true); // warm-up
      timePerMessage(long, true);
    }
    const s: number[] = [];
    const l: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      s.push(timePerMessage(short, true));
      l.push(timePerMessage(long, true));
    }
    rows.push({ shape, short: median(s), long: median(l), ratio: median(l) / median(s) });
  }
  const worst = rows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  return [
    {
      bench: 'intent-adversarial',
      metric: `worst of ${rows.length} hostile shapes, ${MAX_MESSAGE_LENGTH.toLocaleString('en-US')} vs ${SHORT} chars`,
      ours: worst.long * 1000,
      baseline: worst.short * 1000,
      unit: 'µs/msg',
      ratio: worst.ratio,
      target: `ratio ≤ ${ADVERSARIAL_TARGET_RATIO} (linear ≈ 10)`,
      pass: worst.ratio <= ADVERSARIAL_TARGET_RATIO,
      note: rows.map((r) => `${r.shape} ${r.ratio.toFixed(1)}× (${(r.long * 1000).toFixed(0)} µs)`).join(', '),
    },
  ];
}

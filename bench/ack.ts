// Acknowledgement: how long Slack waits for the 200 of a signed HTTP-mode
// event, at 200 events a second, from a Switchboard dispatcher (SLACK_MODE=http,
// its listeners really handling every event after the ack) and from a bare
// Bolt app that only acknowledges. Each runs in its own process; the load
// generator and the Slack emulator (for the replies) run here.
//
// The traffic: 50 channels, 90 % plain chatter (Switchboard reads and ignores
// it), 5 % `@switchboard status`, 5 % `@switchboard help` (both answered in the
// thread through the Slack delivery). Open loop: requests leave on schedule
// whether or not earlier ones were answered, each on a fresh connection (as
// the emulator delivers). The two apps take turns in blocks of BLOCK_S
// seconds, so drift and other load on the machine hit both alike.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SlackEmulator, signRequest } from '../tests/support/slack-emulator/index.js';
import { BenchChild, freePort, nowMs, percentile, pick, prng, sleep, type ProcessUsage, type Row } from './support.js';

const RATE = Number(process.env.BENCH_ACK_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_ACK_SECONDS ?? 30);
const BLOCK_S = 5;
const WARMUP_S = 2;
const CHANNELS = 50;
export const ACK_TARGET_RATIO = 1.2;

interface Sample {
  ms: number;
  status: number;
}

function eventBody(emu: SlackEmulator, rand: () => number, i: number): string {
  const channel = `C0ACK${String(Math.floor(rand() * CHANNELS)).padStart(4, '0')}`;
  const user = pick(rand, ['U0ALICE', 'U0BOB', 'U0CAROL', 'U0DAVE']);
  const ts = `${1_800_000_000 + Math.floor(i / 1000)}.${String(i % 1000).padStart(6, '0')}`;
  const r = rand();
  const chatter = [
    'has anyone seen the flaky test in billing?',
    'lunch at 12?',
    'deploying the docs site now',
    'LGTM, merging',
    'see <https://example.com/runbook|the runbook>',
    'the build is green again :tada:',
  ];
  const event =
    r < 0.9
      ? { type: 'message', channel, channel_type: 'channel', user, text: pick(rand, chatter), ts, event_ts: ts }
      : { type: 'app_mention', channel, user, text: `<@${emu.botUserId}> ${r < 0.95 ? 'status' : 'help'}`, ts, event_ts: ts };
  return JSON.stringify({
    token: 'emulated-verification-token',
    team_id: emu.teamId,
    api_app_id: emu.appId,
    event,
    type: 'event_callback',
    event_id: `Ev${String(i).padStart(9, '0')}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: emu.teamId, user_id: emu.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  });
}

/** One signed POST on a fresh connection; resolves with the time to the full response. */
function deliver(url: string, body: string, secret: string): Promise<Sample> {
  const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...signRequest(secret, body) };
  return new Promise((resolve) => {
    const t0 = nowMs();
    const req = request(url, { method: 'POST', agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: nowMs() - t0, status: res.statusCode ?? 0 }));
    });
    req.on('error', () => resolve({ ms: nowMs() - t0, status: 0 }));
    req.end(body);
  });
}

/** Sends `n` events at RATE a second, open loop; resolves when every one was answered. */
async function burst(url: string, bodies: readonly string[], secret: string): Promise<{ samples: Sample[]; lateMs: number }> {
  const interval = 1000 / RATE;
  const pending: Promise<Sample>[] = [];
  const t0 = nowMs();
  let lateMs = 0;
  while (pending.length < bodies.length) {
    const due = Math.min(bodies.length, Math.floor((nowMs() - t0) / interval) + 1);
    while (pending.length < due) {
      lateMs = Math.max(lateMs, nowMs() - (t0 + pending.length * interval));
      pending.push(deliver(url, bodies[pending.length] as string, secret));
    }
    await sleep(1);
  }
  return { samples: await Promise.all(pending), lateMs };
}

export async function benchAck(redisUrl: string): Promise<Row[]> {
  const emu = await SlackEmulator.start({ rateLimits: { 'chat.postMessage': 1_000_000 } });
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-ack-'));
  const projectsFile = join(dir, 'projects.yml');
  writeFileSync(
    projectsFile,
    'projects:\n  demo:\n    repo: https://git.example.invalid/acme/demo.git\n    agent:\n      command: ["true"]\n',
  );
  const prefix = `bench:ack:${randomBytes(3).toString('hex')}:`;
  const [oursPort, barePort] = [await freePort(), await freePort()];
  const slackEnv = { SLACK_BOT_TOKEN: emu.botToken, SLACK_SIGNING_SECRET: emu.signingSecret, SLACK_API_URL: emu.apiUrl };
  const children: BenchChild[] = [];
  try {
    const ours = await BenchChild.start(new URL('./dispatcher-process.js', import.meta.url), 'switchboard (http mode)', {
      ...slackEnv,
      SLACK_MODE: 'http',
      PORT: String(oursPort),
      LISTEN_HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      PROJECTS_FILE: projectsFile,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    });
    children.push(ours.child);
    const bare = await BenchChild.start(new URL('./bare-bolt-process.js', import.meta.url), 'bare Bolt app', {
      ...slackEnv,
      PORT: String(barePort),
    });
    children.push(bare.child);
    const targets = {
      ours: { url: `http://127.0.0.1:${oursPort}/slack/events`, child: ours.child },
      bare: { url: `http://127.0.0.1:${barePort}/slack/events`, child: bare.child },
    };

    const rand = prng(200);
    let i = 0;
    const bodies = (n: number) => Array.from({ length: n }, () => eventBody(emu, rand, i++));
    // Warm-up: JIT, connection pools, the first auth.test.
    for (const t of Object.values(targets)) await burst(t.url, bodies(WARMUP_S * RATE), emu.signingSecret);

    const samples = { ours: [] as Sample[], bare: [] as Sample[] };
    const blockP50 = { ours: [] as number[], bare: [] as number[] };
    const cpu = { ours: 0, bare: 0 };
    let late = 0;
    const blocks = Math.max(1, Math.round(SECONDS / BLOCK_S));
    for (let b = 0; b < blocks; b++) {
      // Alternate who goes first, so neither always follows the other's backlog.
      for (const name of b % 2 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const)) {
        const before = await targets[name].child.usage();
        const r = await burst(targets[name].url, bodies(BLOCK_S * RATE), emu.signingSecret);
        const after: ProcessUsage = await targets[name].child.usage();
        cpu[name] += after.cpuMs - before.cpuMs;
        late = Math.max(late, r.lateMs);
        samples[name].push(...r.samples);
        blockP50[name].push(
          percentile(
            r.samples.map((s) => s.ms),
            50,
          ),
        );
      }
    }
    const failed = (xs: Sample[]) => xs.filter((s) => s.status !== 200).length;
    if (failed(samples.ours) || failed(samples.bare)) {
      throw new Error(
        `acknowledgement: not every event got a 200 (switchboard ${failed(samples.ours)}, bare ${failed(samples.bare)} of ${samples.ours.length})`,
      );
    }
    // Let the last listeners finish their replies before the emulator goes.
    await sleep(1000);
    const ms = (xs: Sample[]) => xs.map((s) => s.ms);
    const n = samples.ours.length;
    const rows: Row[] = [];
    for (const p of [50, 99] as const) {
      const o = percentile(ms(samples.ours), p);
      const bs = percentile(ms(samples.bare), p);
      rows.push({
        bench: 'ack',
        metric: `time to 200, p${p} (${RATE}/s)`,
        ours: o,
        baseline: bs,
        unit: 'ms',
        ratio: o / bs,
        target: `ratio ≤ ${ACK_TARGET_RATIO}`,
        pass: o / bs <= ACK_TARGET_RATIO,
        ...(p === 99
          ? {
              note: `${n} signed events each (${blocks} blocks of ${BLOCK_S} s, alternating), max ${percentile(ms(samples.ours), 100).toFixed(1)} vs ${percentile(ms(samples.bare), 100).toFixed(1)} ms; p50 per block ours [${blockP50.ours.map((x) => x.toFixed(2)).join(', ')}] bare [${blockP50.bare.map((x) => x.toFixed(2)).join(', ')}] ms; app CPU ${((cpu.ours / n) * 1000).toFixed(0)} vs ${((cpu.bare / n) * 1000).toFixed(0)} µs per event; replies posted ${emu.calls.filter((c) => c.method === 'chat.postMessage' && c.ok).length}; sender late by up to ${late.toFixed(1)} ms`,
            }
          : {}),
      });
    }
    return rows;
  } finally {
    for (const c of children) await c.stop();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
    await deleteKeys(redisUrl, prefix);
  }
}

/** Removes every key under `prefix` (SCAN, not KEYS). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length) await redis.unlink(...found);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

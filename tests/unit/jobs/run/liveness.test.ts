// The liveness verdict (src/jobs/run/liveness.ts): a table of what an observer
// knows and the verdict it must reach, and the heartbeat track that counts
// silence only while Redis was reachable.
import {
  endReason,
  liveness,
  NO_HEARTBEAT_YET,
  observeHeartbeat,
  type HeartbeatReading,
  type HeartbeatTrack,
  type LivenessInput,
} from '../../../../src/jobs/run/liveness.js';

/** The track after reads at the given times (ms). */
const track = (...reads: [number, HeartbeatReading][]): HeartbeatTrack =>
  reads.reduce((t, [at, r]) => observeHeartbeat(t, r, at), NO_HEARTBEAT_YET);

const base: LivenessInput = {
  now: 100_000,
  heartbeat: track([100_000, 'present']),
  reportedIn: true,
  startedAt: 50_000,
  startGraceMs: 30_000,
  lapseAfterMs: 20_000,
  timeoutMs: 60 * 60_000,
};

describe('observeHeartbeat', () => {
  test('absence counts the time between reads that both reached Redis', () => {
    expect(track([0, 'present'], [1000, 'absent'], [3000, 'absent']).absentMs).toBe(3000);
  });
  test('a Redis outage is not silence: the reads around an unreadable one add nothing', () => {
    const t = track([0, 'present'], [1000, 'absent'], [2000, 'unknown'], [30_000, 'unknown'], [31_000, 'absent'], [32_000, 'absent']);
    expect(t.absentMs).toBe(2000); // 0→1000 and 31000→32000
    expect(t.lastSeenAt).toBe(0);
  });
  test('a heartbeat seen again starts the count over', () => {
    const t = track([0, 'absent'], [5000, 'absent'], [6000, 'present']);
    expect(t).toMatchObject({ absentMs: 0, lastSeenAt: 6000 });
  });
  test('the first read adds nothing, whatever it finds', () => {
    expect(track([7000, 'absent']).absentMs).toBe(0);
  });
});

describe('liveness', () => {
  const cases: [string, Partial<LivenessInput>, ReturnType<typeof liveness>][] = [
    ['heartbeat there', {}, { verdict: 'alive' }],
    ['exit known: exited, whatever the heartbeat says', { exit: { exitCode: 1 } }, { verdict: 'exited', exit: { exitCode: 1 } }],
    [
      'exited beats overdue',
      { exit: { exitCode: null, detail: 'gone' }, now: 50_000 + 61 * 60_000 },
      { verdict: 'exited', exit: { exitCode: null, detail: 'gone' } },
    ],
    ['past the time limit, heartbeat or not', { now: 50_000 + 60 * 60_000 + 1 }, { verdict: 'overdue' }],
    [
      'exactly at the limit is not over it',
      { now: 50_000 + 60 * 60_000, heartbeat: track([50_000 + 60 * 60_000, 'present']) },
      { verdict: 'alive' },
    ],
    [
      'no start time: no time limit yet',
      { startedAt: undefined, now: 10 * 3600_000, heartbeat: track([10 * 3600_000, 'present']) },
      { verdict: 'alive' },
    ],
    ['nothing read yet', { heartbeat: NO_HEARTBEAT_YET }, { verdict: 'unsure', why: 'unreadable' }],
    [
      'Redis errored: never lapsed, however long ago it was seen',
      { heartbeat: track([0, 'present'], [1000, 'absent'], [90_000, 'unknown']) },
      { verdict: 'unsure', why: 'unreadable' },
    ],
    [
      'absent a little while after reporting in',
      { heartbeat: track([90_000, 'present'], [95_000, 'absent'], [100_000, 'absent']) },
      { verdict: 'unsure', why: 'absent' },
    ],
    [
      'absent for the lapse time of reachable Redis',
      { heartbeat: track([70_000, 'present'], [80_000, 'absent'], [100_000, 'absent']) },
      { verdict: 'lapsed', reportedIn: true },
    ],
    [
      'absent for long, but most of it during an outage: not lapsed',
      { heartbeat: track([0, 'present'], [5000, 'absent'], [6000, 'unknown'], [95_000, 'absent'], [100_000, 'absent']) },
      { verdict: 'unsure', why: 'absent' },
    ],
    [
      'a new agent without a heartbeat, within the start grace',
      { reportedIn: false, startedAt: undefined, heartbeat: track([80_000, 'absent'], [100_000, 'absent']) },
      { verdict: 'starting' },
    ],
    [
      'a new agent that never reported in',
      { reportedIn: false, startedAt: undefined, heartbeat: track([60_000, 'absent'], [100_000, 'absent']) },
      { verdict: 'lapsed', reportedIn: false },
    ],
    [
      'adopted: reported in to another replica, never seen by this one, absent for the lapse time',
      { reportedIn: true, heartbeat: track([75_000, 'absent'], [100_000, 'absent']) },
      { verdict: 'lapsed', reportedIn: true },
    ],
    [
      'seen by this observer counts as reported in',
      { reportedIn: false, heartbeat: track([70_000, 'present'], [75_000, 'absent'], [100_000, 'absent']) },
      { verdict: 'lapsed', reportedIn: true },
    ],
  ];
  test.each(cases)('%s', (_name, input, expected) => {
    expect(liveness({ ...base, ...input })).toEqual(expected);
  });
});

describe('endReason', () => {
  test.each([
    [{ verdict: 'lapsed', reportedIn: true } as const, 'the agent stopped sending heartbeats'],
    [{ verdict: 'lapsed', reportedIn: false } as const, 'the agent never reported in'],
    [{ verdict: 'overdue' } as const, 'the job ran longer than its 30-minute limit'],
    [{ verdict: 'exited', exit: { exitCode: 3 } } as const, 'the agent exited with code 3 without reporting a result'],
    [
      { verdict: 'exited', exit: { exitCode: null, detail: 'gone' } } as const,
      'the agent exited with an unknown code without reporting a result (gone)',
    ],
    [{ verdict: 'alive' } as const, undefined],
    [{ verdict: 'unsure', why: 'absent' } as const, undefined],
  ])('%j', (verdict, reason) => {
    expect(endReason(verdict, 30)).toBe(reason);
  });
});

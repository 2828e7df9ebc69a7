// The liveness verdict shared by the supervisor and the reconciler: from what
// one observer has learned of an agent (its heartbeat over successive reads,
// its exit, its time limit) and the current time, is it alive, still starting,
// unsure, lapsed, overdue or exited? Pure: callers read Redis and the spawner,
// this only decides, so the two callers can never disagree about an agent.
import type { AgentExit } from '../../spawners/spawner.js';

/** One read of the heartbeat key: there, not there, or unreadable (Redis errored). */
export type HeartbeatReading = 'present' | 'absent' | 'unknown';

/** What one observer has learned of a heartbeat over its successive reads. */
export interface HeartbeatTrack {
  /** Time of the last read that found the heartbeat. */
  lastSeenAt?: number;
  /**
   * How long the heartbeat has been absent, counting only the time between two
   * reads that both reached Redis: an outage never counts as silence.
   */
  absentMs: number;
  /** The latest read. */
  last?: { at: number; reading: HeartbeatReading };
}

export const NO_HEARTBEAT_YET: HeartbeatTrack = { absentMs: 0 };

/** The track after one more read at `now`. */
export function observeHeartbeat(track: HeartbeatTrack, reading: HeartbeatReading, now: number): HeartbeatTrack {
  const last = { at: now, reading };
  if (reading === 'present') return { lastSeenAt: now, absentMs: 0, last };
  if (reading === 'unknown') return { ...track, last };
  // Absent: the time since the previous read counts only when that read reached Redis too.
  const reachable = track.last !== undefined && track.last.reading !== 'unknown';
  const added = reachable ? Math.max(0, now - (track.last?.at ?? now)) : 0;
  return { ...track, absentMs: track.absentMs + added, last };
}

export interface LivenessInput {
  now: number;
  heartbeat: HeartbeatTrack;
  /** Set once the agent's process is known to have stopped (or to be gone). */
  exit?: AgentExit;
  /** The agent reported in before (its `started` event is in the record), perhaps to another replica. */
  reportedIn: boolean;
  /** When the job's agent started work (the record's startedAt), for the time limit. */
  startedAt?: number;
  /** How long a new agent may take to send its first heartbeat. */
  startGraceMs: number;
  /**
   * How long a heartbeat that was there may stay absent (on top of its own
   * TTL) before the agent counts as lapsed: room for the runner to reconnect
   * after a Redis blip or a partition of its own.
   */
  lapseAfterMs: number;
  /** The project's time limit. */
  timeoutMs: number;
}

export type Liveness =
  /** The heartbeat is there. */
  | { verdict: 'alive' }
  /** No heartbeat yet, within the start grace. */
  | { verdict: 'starting' }
  /** The heartbeat is absent (not long enough to decide) or unreadable: decide nothing yet. */
  | { verdict: 'unsure'; why: 'absent' | 'unreadable' }
  /** The heartbeat stayed away too long; `reportedIn` false: the agent never sent one. */
  | { verdict: 'lapsed'; reportedIn: boolean }
  /** The job outlived its time limit. */
  | { verdict: 'overdue' }
  /** The agent's process has stopped. */
  | { verdict: 'exited'; exit: AgentExit };

/** The verdict on one agent. Exit first, then the time limit, then the heartbeat. */
export function liveness(input: LivenessInput): Liveness {
  const { now, heartbeat } = input;
  if (input.exit) return { verdict: 'exited', exit: input.exit };
  if (input.startedAt !== undefined && now - input.startedAt > input.timeoutMs) return { verdict: 'overdue' };
  const reading = heartbeat.last?.reading;
  if (reading === 'present') return { verdict: 'alive' };
  // Nothing read yet, or Redis errored: an unreadable heartbeat is never a lapsed one.
  if (reading === undefined || reading === 'unknown') return { verdict: 'unsure', why: 'unreadable' };
  const reportedIn = input.reportedIn || heartbeat.lastSeenAt !== undefined;
  const grace = reportedIn ? input.lapseAfterMs : input.startGraceMs;
  if (heartbeat.absentMs >= grace) return { verdict: 'lapsed', reportedIn };
  return reportedIn ? { verdict: 'unsure', why: 'absent' } : { verdict: 'starting' };
}

/** The user-facing reason for ending a job on a verdict (undefined: no reason to end it). */
export function endReason(verdict: Liveness, timeoutMinutes: number): string | undefined {
  switch (verdict.verdict) {
    case 'lapsed':
      return verdict.reportedIn ? 'the agent stopped sending heartbeats' : 'the agent never reported in';
    case 'overdue':
      return `the job ran longer than its ${timeoutMinutes}-minute limit`;
    case 'exited': {
      const code = verdict.exit.exitCode === null ? 'an unknown code' : `code ${verdict.exit.exitCode}`;
      return `the agent exited with ${code} without reporting a result${verdict.exit.detail ? ` (${verdict.exit.detail})` : ''}`;
    }
    default:
      return undefined;
  }
}

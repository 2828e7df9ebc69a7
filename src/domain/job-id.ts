// Job ids: made here, checked here. An id ends up in BullMQ (as the custom
// job id), in Redis keys, in container names (`switchboard-job-<id>`) and in
// Slack ("job `j4f9k2m7q0x`"), so it must be short, lowercase [a-z0-9], and
// never look like an integer: BullMQ refuses a custom id for which
// String(parseInt(id, 10)) === id, and 12 hex characters were all digits
// about once in 300 requests.
import { ErrorCode, SwitchboardError } from '../errors.js';
import { randomBytes } from 'node:crypto';

/** Crockford's base32, lowercase: no i, l, o or u to misread. 32 symbols, so `byte & 31` is unbiased. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** A fixed letter first: never a number, and easy to spot in logs. */
const PREFIX = 'j';
const BODY_LENGTH = 10; // 50 random bits

const CURRENT = /^j[0-9a-hjkmnp-tv-z]{10}$/;
/** Ids made before this module: 12 hex characters. Still accepted so that jobs queued across an upgrade run. */
const LEGACY = /^[0-9a-f]{12}$/;

/** Where the randomness comes from (crypto by default; tests pass their own). */
export type RandomSource = (size: number) => Uint8Array;

export function newJobId(random: RandomSource = randomBytes): string {
  const bytes = random(BODY_LENGTH);
  if (bytes.length < BODY_LENGTH) throw new Error(`a job id needs ${BODY_LENGTH} random bytes, the source gave ${bytes.length}`);
  let body = '';
  for (let i = 0; i < BODY_LENGTH; i++) body += ALPHABET[(bytes[i] as number) & 31];
  return PREFIX + body;
}

/** BullMQ's own rule for custom job ids (Queue.add throws "Custom Id cannot be integers"). */
export const bullmqAcceptsJobId = (id: string): boolean => String(parseInt(id, 10)) !== id;

/** True for an id Switchboard could have made (and so safe in a Redis key, a container name and BullMQ). */
export function isJobId(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  return CURRENT.test(value) || (LEGACY.test(value) && bullmqAcceptsJobId(value));
}

export class InvalidJobIdError extends SwitchboardError {
  constructor(value: unknown) {
    super(ErrorCode.JobIdInvalid, `not a Switchboard job id: ${JSON.stringify(value)?.slice(0, 40)}`);
    this.name = 'InvalidJobIdError';
  }
}

/** For ids that reach Redis or BullMQ from outside this process (queue data, lock holders, button values). */
export function assertJobId(value: unknown): asserts value is string {
  if (!isJobId(value)) throw new InvalidJobIdError(value);
}

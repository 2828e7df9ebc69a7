// Per-job Redis users (DESIGN §5 "Credentials"). Each agent gets an ACL user
// of its own that may run only the commands the runner sends, on exactly its
// job's three keys (and a one-time GETDEL of its secret): it can neither read
// nor write anything else in Redis.
//
// ACL users live only in the server's memory (AOF/RDB don't keep them), so the
// SHA-256 of each live job's password is kept in one hash, and the users are
// re-created from it (`#<hash>`) whenever the dispatcher's connection comes back.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import type { Logger } from '../observability/logger.js';
import { ErrorCode, SwitchboardError } from '../errors.js';

/**
 * What the runner (src/agent/) sends, and nothing more:
 * XADD + EXPIRE on events, SET PX + DEL on the heartbeat, XREAD on control,
 * CLIENT SETNAME for ioredis's `connectionName`, PING for health. HELLO and
 * AUTH need no grant. The runner turns ioredis's ready check (INFO) off.
 */
export const AGENT_COMMANDS = ['xadd', 'expire', 'set', 'del', 'xread', 'client|setname', 'ping'] as const;

export const agentUsername = (jobId: string) => `job-${jobId}`;
export const passwordHash = (password: string) => createHash('sha256').update(password).digest('hex');

export interface IssuedCredential {
  username: string;
  password: string;
}

/** The dispatcher's Redis user may not manage ACL users: fix-it text for operators. */
export class AclNotPermittedError extends SwitchboardError {
  constructor(cause: unknown) {
    super(
      ErrorCode.RedisAclNotPermitted,
      'The dispatcher must be able to create and delete Redis ACL users (one per job, so agents never hold its credentials), ' +
        `but Redis refused: ${(cause as Error).message}.`,
      {
        operatorHint:
          'give the REDIS_URL user that right, e.g. in redis.conf or with redis-cli: ACL SETUSER <dispatcher-user> on >… ~* &* +@all ' +
          "(at least +acl|setuser +acl|deluser besides what it has); use Redis 7 or newer (agents' users take an ACL selector)",
        cause,
      },
    );
    this.name = 'AclNotPermittedError';
  }
}

export class AgentCredentials {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly logger: Logger,
  ) {}

  /** The ACL rules of a job's user: exact keys (never a `job:ID:*` pattern, which would match the record and locks). */
  rules(jobId: string, hash: string): string[] {
    return [
      'reset',
      'on',
      `#${hash}`,
      'resetchannels',
      '-@all',
      ...AGENT_COMMANDS.map((c) => `+${c}`),
      `~${this.keys.jobEvents(jobId)}`,
      `~${this.keys.jobHeartbeat(jobId)}`,
      `~${this.keys.jobControl(jobId)}`,
      // A selector (Redis 7): GETDEL on the runner's secret key and nothing else there, so the
      // runner takes the tracker token once and the agent command, started after, finds it gone.
      `(~${this.keys.jobSecret(jobId)} +getdel)`,
    ];
  }

  /** Creates the job's user with a fresh random password; remembers only its hash. */
  async issue(jobId: string): Promise<IssuedCredential> {
    const password = randomBytes(24).toString('hex');
    const hash = passwordHash(password);
    await this.redis.hset(this.keys.agentUsers, jobId, hash);
    await this.redis.call('ACL', 'SETUSER', agentUsername(jobId), ...this.rules(jobId, hash));
    return { username: agentUsername(jobId), password };
  }

  /** Deletes the job's user (its agent's connections are closed by Redis) and forgets it. Missing users are fine. */
  async revoke(jobId: string): Promise<void> {
    await this.redis.hdel(this.keys.agentUsers, jobId);
    await this.redis.call('ACL', 'DELUSER', agentUsername(jobId));
  }

  /** Re-creates every remembered user, with the same rules and password hash (after Redis came back without them). */
  async restore(): Promise<number> {
    const users = await this.redis.hgetall(this.keys.agentUsers);
    for (const [jobId, hash] of Object.entries(users)) {
      await this.redis.call('ACL', 'SETUSER', agentUsername(jobId), ...this.rules(jobId, hash));
    }
    return Object.keys(users).length;
  }

  /** Restores the users each time the connection becomes ready again; returns a function that stops doing so. */
  restoreOnReconnect(): () => void {
    const onReady = () => {
      void this.restore().then(
        (n) => n > 0 && this.logger.info({ users: n }, 're-created the Redis users of live jobs after a reconnect'),
        (err: unknown) => this.logger.error({ err }, 'could not re-create the Redis users of live jobs'),
      );
    };
    this.redis.on('ready', onReady);
    return () => this.redis.off('ready', onReady);
  }

  /** Throws AclNotPermittedError unless this connection may create and delete ACL users. */
  async assertCanManage(): Promise<void> {
    const probe = `switchboard-probe-${randomBytes(4).toString('hex')}`;
    try {
      await this.redis.call('ACL', 'SETUSER', probe, 'reset', 'off');
      await this.redis.call('ACL', 'DELUSER', probe);
    } catch (err) {
      throw new AclNotPermittedError(err);
    }
  }
}

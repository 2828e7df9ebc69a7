// A real SlackDelivery (real @slack/web-api client, real Redis) against the emulator, for tests.
import type { Redis } from 'ioredis';
import { keys as keysFor } from '../../src/domain/keys.js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import type { Metrics } from '../../src/observability/metrics.js';
import { SlackDelivery, createDeliveryClient, defaultBudgetSettings, type BudgetSettings } from '../../src/slack/delivery/index.js';
import type { SlackEmulator } from './slack-emulator/index.js';

export interface TestDeliveryOptions {
  emu: SlackEmulator;
  redis: Redis;
  prefix: string;
  budgets?: Partial<BudgetSettings>;
  retries?: number;
  timeoutMs?: number;
  backoffMs?: number;
  outboxRetryMs?: number;
  metrics?: Metrics;
  logger?: Logger;
}

export function testDelivery(o: TestDeliveryOptions): SlackDelivery {
  return new SlackDelivery({
    client: createDeliveryClient({ token: o.emu.botToken, apiUrl: o.emu.apiUrl, timeoutMs: o.timeoutMs ?? 5000 }),
    token: o.emu.botToken,
    redis: o.redis,
    keys: keysFor(o.prefix),
    budgets: defaultBudgetSettings(o.budgets),
    retries: o.retries ?? 2,
    backoffMs: o.backoffMs ?? 50,
    outboxRetryMs: o.outboxRetryMs ?? 60_000,
    logger: o.logger ?? silentLogger,
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
}

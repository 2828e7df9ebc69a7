import { jest } from '@jest/globals';
import { announceResult } from '../../../../src/jobs/run/result-announcement.js';
import type { ClaimOutcome } from '../../../../src/state/handled-once.js';
import { silentLogger } from '../../../../src/observability/logger.js';
import { aJob } from '../../../support/jobs.js';

/** A store whose claims answer from a script, recording what the claimant did. */
function scripted(outcomes: ClaimOutcome['kind'][]) {
  const did: string[] = [];
  const store = {
    claimResultAnnouncement: async (): Promise<ClaimOutcome> => {
      const kind = outcomes.shift() ?? 'done';
      if (kind === 'claimed')
        return { kind, claim: { done: async () => void did.push('done'), release: async () => void did.push('released') } };
      return kind === 'done' ? { kind } : { kind, holder: 'working:other' };
    },
  };
  return { store, did };
}

const finished = aJob({ state: 'done', summary: 'fixed' });

test('claimed: the result is posted, then marked announced, then the request is marked', async () => {
  const { store, did } = scripted(['claimed']);
  const notifier = { postResult: jest.fn(async () => void did.push('posted')), markRequest: jest.fn(async () => void did.push('marked')) };
  expect(await announceResult(finished, { store, notifier, log: silentLogger })).toBe('announced');
  expect(did).toEqual(['posted', 'done', 'marked']);
});

test('another replica is posting: wait; when its lease lapses (it died) post it here, once', async () => {
  const { store, did } = scripted(['in-progress', 'in-progress', 'claimed']);
  const notifier = { postResult: jest.fn(async () => void did.push('posted')) };
  expect(await announceResult(finished, { store, notifier, log: silentLogger, pollMs: 1 })).toBe('announced');
  expect(notifier.postResult).toHaveBeenCalledTimes(1);
});

test('another replica posted it meanwhile: nothing is posted here', async () => {
  const { store } = scripted(['in-progress', 'done']);
  const notifier = { postResult: jest.fn(async () => undefined) };
  expect(await announceResult(finished, { store, notifier, log: silentLogger, pollMs: 1 })).toBe('announced-before');
  expect(notifier.postResult).not.toHaveBeenCalled();
});

test('a post that fails is not marked announced: the claim is released for the next supervisor', async () => {
  const { store, did } = scripted(['claimed']);
  const notifier = { postResult: async () => Promise.reject(new Error('delivery closed')) };
  expect(await announceResult(finished, { store, notifier, log: silentLogger })).toBe('failed');
  expect(did).toEqual(['released']);
});

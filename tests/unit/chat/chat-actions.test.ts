// The chat core (chat/chat-actions.ts) routes button presses by action id to
// the handler registered for it, with small fakes of the parts it calls.
import { jest } from '@jest/globals';
import { chatEvent } from '../../../src/chat/chat-event.js';
import { ChatActions as RealChatActions } from '../../../src/chat/chat-actions.js';
import type { ChatRequests } from '../../../src/chat/chat-requests.js';
import type { JobControl } from '../../../src/jobs/job-control.js';
import { ACTIONS, actionIdPattern, baseActionId } from '../../../src/domain/actions.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { AuditRecord } from '../../../src/state/audit-log.js';
import { aJob } from '../../support/jobs.js';

describe('the chat core routes presses by action id', () => {
  function core() {
    const audit: AuditRecord[] = [];
    const control = {
      cancel: jest.fn(async (target: { jobId: string }, by: string) => ({
        kind: 'cancel-requested' as const,
        job: aJob({ id: target.jobId, user: by }),
      })),
      retry: jest.fn(async () => ({ kind: 'no-job' as const, action: 'retry' as const })),
    } as unknown as JobControl;
    const chat = new RealChatActions({
      requests: {} as ChatRequests,
      control,
      audit: { record: async (r) => void audit.push(r) },
      logger: silentLogger,
    });
    return { chat, control, audit };
  }

  test('job.cancel (also as job.cancel:2) cancels the job named by the value, and is audited', async () => {
    const { chat, control, audit } = core();
    const answer = await chat.pressed(
      { actionId: `${ACTIONS.cancelJob}:2`, value: 'a1b2c3d4e5f6', user: 'U0ALICE', channel: 'C0CHAN', messageTs: '1.2' },
      chatEvent(silentLogger, 'ref1'),
    );
    expect(answer.reply.kind).toBe('cancel-requested');
    expect(control.cancel).toHaveBeenCalledWith({ jobId: 'a1b2c3d4e5f6' }, 'U0ALICE');
    expect(audit).toEqual([
      {
        user: 'U0ALICE',
        kind: 'button',
        action: 'job.cancel',
        channel: 'C0CHAN',
        thread: '1.2',
        surface: 'button',
        outcome: 'cancel-requested',
        jobId: 'a1b2c3d4e5f6',
        text: 'a1b2c3d4e5f6',
      },
    ]);
  });

  test('an action id nothing handles gets a polite answer; one registered later is routed to its handler', async () => {
    const { chat } = core();
    expect(
      (await chat.pressed({ actionId: 'question.answer', value: 'x', user: 'U0ALICE' }, chatEvent(silentLogger, 'r'))).reply.kind,
    ).toBe('info');
    chat.onButton('question.answer', async (p) => ({ kind: 'info', text: `answered ${p.value}` }));
    expect(chat.buttonActionIds()).toContain('question.answer');
    expect((await chat.pressed({ actionId: 'question.answer', value: 'x', user: 'U0ALICE' }, chatEvent(silentLogger, 'r'))).reply).toEqual({
      kind: 'info',
      text: 'answered x',
    });
  });

  test('action id helpers', () => {
    expect(baseActionId('job.cancel:3')).toBe('job.cancel');
    expect(actionIdPattern('job.cancel').test('job.cancel:2')).toBe(true);
    expect(actionIdPattern('job.cancel').test('jobXcancel')).toBe(false);
  });
});

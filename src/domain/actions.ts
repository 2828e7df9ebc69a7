// Button action ids and their values, defined once: the message builders put
// them on buttons, the chat core routes presses by them, and every chat
// adapter (Slack's listeners/actions, the local chat page) binds the same ids.
// Pure: no Slack, Redis or Docker.

/** The actions this version understands. Others (question answers) are added here by their owners. */
export const ACTIONS = {
  /** Cancel a queued or running job; value: the job id. */
  cancelJob: 'job.cancel',
  /** Run a finished (failed or cancelled) job again; value: the job id. */
  retryJob: 'job.retry',
  /** Answer an agent's question; value: `<jobId>:<question key>:<option>` (domain/questions.ts). */
  answerQuestion: 'question.answer',
  /** Run what the light route read from free text; value: the reading's id (chat/free-text.ts). */
  runReading: 'reading.run',
  /** Drop that reading; value: the reading's id. */
  dropReading: 'reading.drop',
} as const;

export type ActionId = (typeof ACTIONS)[keyof typeof ACTIONS];

/**
 * The action id a press carries, without the `:2`, `:3`… that renderers add
 * when one message holds the same action twice (Slack refuses duplicates).
 */
export function baseActionId(pressed: string): string {
  return pressed.replace(/:\d+$/, '');
}

/** A pattern that matches an action id as pressed, with or without that suffix. */
export function actionIdPattern(actionId: string): RegExp {
  return new RegExp(`^${actionId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?::\\d+)?$`);
}

// Every Redis key Switchboard uses, in one place. All carry the prefix.
export interface Keys {
  jobEvents(jobId: string): string;
  jobControl(jobId: string): string;
  jobHeartbeat(jobId: string): string;
  job(jobId: string): string;
  channelLock(channelId: string): string;
  slackEvent(eventId: string): string;
  /** BullMQ's own prefix (it appends `:{queue}:…`). */
  queuePrefix: string;
}

export function keys(prefix: string): Keys {
  return {
    jobEvents: (id) => `${prefix}job:${id}:events`,
    jobControl: (id) => `${prefix}job:${id}:control`,
    jobHeartbeat: (id) => `${prefix}job:${id}:heartbeat`,
    job: (id) => `${prefix}job:${id}`,
    channelLock: (c) => `${prefix}lock:channel:${c}`,
    slackEvent: (id) => `${prefix}slack:event:${id}`,
    queuePrefix: `${prefix}bull`,
  };
}

// Watching one job from a test: every container it ever had, and the
// messages it produced. For tests that must show "once" (one agent, one result).
import type Docker from 'dockerode';
import { botReplies, type Harness } from './dispatcher-harness.js';
import { sleep } from './eventually.js';
import type { RecordedMessage } from './slack-emulator/index.js';

/** How long to keep looking for a duplicate after the thing we expect once has appeared. */
export const DUPLICATE_WATCH_MS = 4000;

export const doneMessages = (h: Pick<Harness, 'emu'>, channel: string, threadTs: string): RecordedMessage[] =>
  botReplies(h, channel, threadTs).filter((m) => /is done/.test(m.text ?? ''));

/** Every version a message had, oldest first: versions[k] is how it looked after k updates. */
export const versions = (m: RecordedMessage) => [...m.history, { text: m.text, blocks: m.blocks }];

export interface ContainerWatch {
  /** Container ids. */
  ids: Set<string>;
  /** The jobs those containers ran (their switchboard.job-id labels). */
  jobIds: Set<string>;
  stop(): Promise<void>;
}

/** Records every distinct container that carries a job's label, until stopped. */
export function watchJobContainers(docker: Docker, jobId: string): ContainerWatch {
  return watchContainers(docker, `switchboard.job-id=${jobId}`);
}

/** Records every distinct agent container of a channel (any job), until stopped. */
export function watchChannelContainers(docker: Docker, channel: string): ContainerWatch {
  return watchContainers(docker, `switchboard.channel=${channel}`);
}

function watchContainers(docker: Docker, label: string): ContainerWatch {
  const ids = new Set<string>();
  const jobIds = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const list = await docker
        .listContainers({ all: true, filters: JSON.stringify({ label: [label, 'app.kubernetes.io/managed-by=switchboard'] }) })
        .catch(() => [] as Docker.ContainerInfo[]);
      for (const c of list) {
        ids.add(c.Id);
        jobIds.add(c.Labels['switchboard.job-id'] ?? '(no job id label)');
      }
      await sleep(150);
    }
  })();
  return {
    ids,
    jobIds,
    async stop() {
      running = false;
      await loop;
    },
  };
}

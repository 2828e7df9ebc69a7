// What a Job and its pod say about the agent, in words a Slack user can read.
// Pure: the spawner feeds it what its watches have seen.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { signalWords } from '../exit-words.js';

export type Verdict =
  | { state: 'running' }
  /** Pending on the scheduler; the spawner gives up after a grace period. */
  | { state: 'unschedulable'; message: string }
  /** Will never run: the spawner deletes the Job and reports this. */
  | { state: 'stuck'; detail: string }
  | { state: 'exited'; exitCode: number | null; detail?: string };

const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);

export function terminatedOf(pod: V1Pod | undefined) {
  return pod?.status?.containerStatuses?.[0]?.state?.terminated;
}

/** The job's pod that tells the most: a finished one over a running one over a pending one. */
export function mainPod(pods: V1Pod[]): V1Pod | undefined {
  return [...pods].sort((a, b) => rank(b) - rank(a))[0];
}
const rank = (p: V1Pod) => (terminatedOf(p) ? 3 : p.status?.phase === 'Running' ? 2 : 1);

export function verdictOf(job: V1Job, pods: V1Pod[]): Verdict {
  const pod = mainPod(pods);
  const terminated = terminatedOf(pod);
  const finished = job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (finished) {
    const exitCode = terminated?.exitCode ?? null;
    if (finished.type === 'Complete') return { state: 'exited', exitCode: exitCode ?? 0 };
    return { state: 'exited', exitCode, detail: failureWords(finished.reason, pod) };
  }
  if (terminated && (pod?.status?.phase === 'Failed' || pod?.status?.phase === 'Succeeded')) {
    // The Job controller has not written its condition yet; the pod already says how it ended.
    return { state: 'exited', exitCode: terminated.exitCode, detail: terminated.exitCode === 0 ? undefined : failureWords(undefined, pod) };
  }
  const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting;
  if (waiting?.reason && IMAGE_PULL.has(waiting.reason)) {
    const image = pod?.spec?.containers?.[0]?.image ?? 'the agent image';
    return { state: 'stuck', detail: `the cluster could not pull the image ${image} (${waiting.reason})` };
  }
  const scheduled = pod?.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { state: 'unschedulable', message: scheduled.message ?? 'no node can take the pod' };
  }
  return { state: 'running' };
}

function failureWords(jobReason: string | undefined, pod: V1Pod | undefined): string | undefined {
  const terminated = terminatedOf(pod);
  if (pod?.status?.reason === 'Evicted') return `the node evicted the agent (Evicted: ${pod.status.message ?? 'node pressure'})`;
  if (terminated?.reason === 'OOMKilled') return "the agent ran out of memory (OOMKilled): raise the project's resources.memory";
  if (jobReason === 'DeadlineExceeded') return "the agent ran past the project's time limit (DeadlineExceeded)";
  if (jobReason === 'BackoffLimitExceeded' || !jobReason) return signalWords(terminated?.exitCode);
  return `the Job failed (${jobReason})`;
}

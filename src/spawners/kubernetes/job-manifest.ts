// The Job and Secret one agent run becomes (DESIGN §5 on Kubernetes). Pure, so
// the objects can be validated against the official schema and the restricted
// Pod Security Standard in unit tests.
import { createHash } from 'node:crypto';
import type { V1Job, V1Secret, V1EnvVar } from '@kubernetes/client-node';
import { AGENT_ENV, agentArgs, agentLabels } from '../../domain/agent-contract.js';
import type { AgentSpec } from '../spawner.js';

/** The agent's uid and gid in the image (the `node` user of node:24-bookworm-slim). */
export const AGENT_UID = 1000;
/** The env name the runner reads its per-job Redis URL from (DESIGN §5). */
export const REDIS_URL_ENV = AGENT_ENV.redisUrl;

export interface JobManifestOptions {
  namespace: string;
  /** How long a finished Job (and its pod and Secret) stays for inspection. */
  ttlSecondsAfterFinished: number;
  /** Set on the pod: a RuntimeClass such as gvisor or kata. */
  runtimeClassName?: string;
  /** Added to the project's timeout, so the dispatcher's own timeout (with its message) fires first. */
  deadlineMarginSeconds: number;
  /** SIGTERM to SIGKILL when the Job is deleted (the dispatcher's stop grace). */
  terminationGraceSeconds: number;
}

/**
 * The Job's name: from the job id, so a second create collides (409) and adopts.
 * Ids that are not already DNS-1123 labels are lowercased and given a short
 * hash, so two ids never share a name.
 */
export function jobName(jobId: string): string {
  const clean = jobId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  const base = `switchboard-job-${clean}`;
  if (clean === jobId && base.length <= 63) return base;
  const hash = createHash('sha256').update(jobId).digest('hex').slice(0, 8);
  return `${base.slice(0, 63 - 9).replace(/-+$/, '')}-${hash}`;
}

export const secretName = (jobId: string) => `${jobName(jobId)}-env`;

/** Names whose values go into the Secret: the project's `env` values and the job's Redis URL. */
export function secretEnvNames(spec: AgentSpec): Set<string> {
  return new Set((spec.env[AGENT_ENV.secretNames] ?? '').split(',').filter(Boolean));
}

/** The runner's arguments without `--redis-url`: on Kubernetes the URL comes from the Secret. */
export function podArgs(spec: AgentSpec): string[] {
  return agentArgs({ jobId: spec.jobId, channel: spec.channel, request: spec.request });
}

/** Kubernetes quantities from the catalogue's numbers. */
export const cpuQuantity = (cpus: number) => `${Math.max(1, Math.round(cpus * 1000))}m`;
export const memoryQuantity = (bytes: number) => (bytes % 1024 ** 2 === 0 ? `${bytes / 1024 ** 2}Mi` : String(bytes));

export function jobManifest(spec: AgentSpec, options: JobManifestOptions): V1Job {
  const secretNames = secretEnvNames(spec);
  const env: V1EnvVar[] = Object.entries(spec.env)
    .filter(([name]) => !secretNames.has(name))
    .map(([name, value]) => ({ name, value }));
  // A read-only root: tools that write under $HOME (git, npm) use the emptyDir /tmp.
  env.push({ name: 'HOME', value: '/tmp' });
  const labels = agentLabels(spec);
  const resources = { cpu: cpuQuantity(spec.resources.cpus), memory: memoryQuantity(spec.resources.memoryBytes) };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(spec.jobId), namespace: options.namespace, labels },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished,
      ...(spec.timeoutSeconds ? { activeDeadlineSeconds: spec.timeoutSeconds + options.deadlineMarginSeconds } : {}),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: options.terminationGraceSeconds,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(options.runtimeClassName ? { runtimeClassName: options.runtimeClassName } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: AGENT_UID,
            runAsGroup: AGENT_UID,
            fsGroup: AGENT_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'agent',
              image: spec.image,
              imagePullPolicy: 'IfNotPresent',
              args: podArgs(spec),
              env,
              envFrom: [{ secretRef: { name: secretName(spec.jobId) } }],
              resources: { requests: resources, limits: resources },
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                privileged: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'workspace', mountPath: '/workspace' },
              ],
            },
          ],
          volumes: [
            { name: 'tmp', emptyDir: {} },
            { name: 'workspace', emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** The job's secret values; owned by the Job, so Kubernetes deletes it with the Job. */
export function secretManifest(spec: AgentSpec, owner: { name: string; uid: string }, namespace: string): V1Secret {
  const stringData: Record<string, string> = { [REDIS_URL_ENV]: spec.redisUrl };
  for (const name of secretEnvNames(spec)) {
    const value = spec.env[name];
    if (value !== undefined) stringData[name] = value;
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: secretName(spec.jobId),
      namespace,
      labels: agentLabels(spec),
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    stringData,
  };
}

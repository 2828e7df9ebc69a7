// The Kubernetes API's answers as the spawner reads them: the HTTP code of a
// failure (none: the API server did not answer), and a failure in words an
// operator can act on.
import { ApiException } from '@kubernetes/client-node';
import { ErrorCode, SwitchboardError } from '../../errors.js';

/** No HTTP answer at all: the API server did not answer (as opposed to refusing). */
export const isUnreachable = (err: unknown) =>
  err instanceof SwitchboardError
    ? err.code === ErrorCode.KubernetesApiFailed && codeOf(err.cause) === undefined
    : codeOf(err) === undefined;

/** An API failure as an operator can act on it. */
export function readableApiError(err: unknown, action: string, where: { server: string; namespace: string }): Error {
  const { server, namespace } = where;
  const code = codeOf(err);
  const message = statusMessage(err);
  const text =
    code === 401
      ? `the Kubernetes API at ${server} refused the dispatcher's credentials (401 Unauthorized): check the kubeconfig or the service account token`
      : code === 403
        ? `the dispatcher may not ${action} in namespace ${namespace} (403 Forbidden): apply manifests/base/rbac.yaml or grant its Role that verb${message ? `; the API server said: ${message}` : ''}`
        : code === 422
          ? `Kubernetes refused the object as invalid (422): ${message}`
          : code !== undefined
            ? `Kubernetes answered ${code} when asked to ${action} in namespace ${namespace}${message ? `: ${message}` : ''}`
            : `the Kubernetes API at ${server} does not answer (${(err as Error).message})`;
  return new SwitchboardError(ErrorCode.KubernetesApiFailed, text, {
    userText:
      code === undefined
        ? 'the cluster that runs agents does not answer right now'
        : 'the cluster that runs agents refused to start it; whoever runs Switchboard will find why in its logs',
    operatorHint: text,
    cause: err,
  });
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

export function codeOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.statusCode ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function statusMessage(err: unknown): string | undefined {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message;
    } catch {
      return body.slice(0, 300);
    }
  }
  return (body as { message?: string } | undefined)?.message;
}

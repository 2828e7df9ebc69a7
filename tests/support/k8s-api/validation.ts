// Request bodies are checked against the official OpenAPI schema (the
// kubernetes-models classes carry it) plus the name rules the API server
// applies on top, and refused with the 422 Status the real server sends.
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Secret } from 'kubernetes-models/v1/Secret';
import type { KObject, Resource } from './store.js';
import { failure, type StatusBody } from './status.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const KINDS: Record<
  'jobs' | 'secrets',
  { kind: string; apiVersion: string; group: string; model: new (o: never) => { validate(): void } }
> = {
  jobs: { kind: 'Job', apiVersion: 'batch/v1', group: 'batch', model: Job as never },
  secrets: { kind: 'Secret', apiVersion: 'v1', group: '', model: Secret as never },
};

/** A 422 Status for an invalid object, or undefined when the API server would take it. */
export function invalidObject(resource: Resource, body: KObject): StatusBody | undefined {
  if (resource === 'pods') return failure(405, 'pods are created by the Job controller in this double');
  const { kind, apiVersion, group, model } = KINDS[resource];
  const name = body?.metadata?.name ?? '';
  const qualified = group ? `${kind}.${group}` : kind;
  const causes: { reason: string; message: string; field: string }[] = [];
  if (body?.kind !== kind || body?.apiVersion !== apiVersion) {
    return failure(400, `the object provided is unrecognized (must be ${apiVersion} ${kind}, got ${body?.apiVersion} ${body?.kind})`);
  }
  try {
    new model(body as never).validate();
  } catch (err) {
    for (const line of String((err as Error).message).split(/\n|, (?=data)/)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: line.replace(/^data\/?/, ''),
        field: line.replace(/^data\/?([^ ]*).*$/, '$1').replaceAll('/', '.'),
      });
    }
  }
  if (!name)
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  else if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      field: 'metadata.name',
    });
  } else if (resource === 'jobs' && name.length > 63) {
    // The Job controller puts the name into the pods' job-name label.
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": must be no more than 63 characters`,
      field: 'metadata.name',
    });
  }
  for (const [k, v] of Object.entries(body.metadata?.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`,
        field: `metadata.labels.${k}`,
      });
    }
  }
  if (resource === 'jobs') {
    const restart = body.spec?.template?.spec?.restartPolicy;
    if (restart !== 'Never' && restart !== 'OnFailure') {
      causes.push({
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${restart}": supported values: "OnFailure", "Never"`,
        field: 'spec.template.spec.restartPolicy',
      });
    }
  }
  if (!causes.length) return undefined;
  return failure(422, `${qualified} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, {
    name,
    group: group || undefined,
    kind,
    causes,
  });
}

// manifests/: every object file validates against the official Kubernetes
// schema (kubernetes-models), every pod template passes the restricted Pod
// Security Standard, the Role is the minimal one, the agents' NetworkPolicy
// allows and denies what it must, the catalogue parses, and (where kubectl is
// installed, as on CI here) the example overlay renders and validates too.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseCatalogue } from '../../../src/config/catalogue-parse.js';
import { podSecurityViolations } from '../../support/pod-security.js';

const ROOT = join(process.cwd(), 'manifests');

interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}
const docs = (text: string): KObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KObject)
    .filter(Boolean);

/** kubernetes-models module of an object: core `v1` → v1/Kind, `apps/v1` → apps/v1/Kind. */
async function validate(o: KObject): Promise<void> {
  const mod = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, new (o: unknown) => { validate(): void }>;
  new mod[o.kind]!(o).validate();
}

// Base objects are whole objects; overlay patches are partial and are checked once rendered.
const baseFiles = yamlFiles(join(ROOT, 'base')).filter((f) => !f.endsWith('kustomization.yaml'));
const baseObjects = baseFiles.flatMap((f) => docs(readFileSync(f, 'utf8')).map((o) => ({ file: relative(ROOT, f), o })));
const podTemplates = (objects: KObject[]) =>
  objects.filter((o) => o.spec?.template?.spec).map((o) => [`${o.kind}/${o.metadata.name}`, o.spec.template.spec] as const);

test('the base has every object the issue lists', () => {
  const kinds = baseObjects.map(({ o }) => `${o.kind}/${o.metadata.name}`).sort();
  expect(kinds).toEqual(
    [
      'ConfigMap/switchboard-projects',
      'Deployment/switchboard-dispatcher',
      'Namespace/switchboard',
      'NetworkPolicy/switchboard-agents',
      'Role/switchboard-dispatcher',
      'RoleBinding/switchboard-dispatcher',
      'Secret/switchboard-secrets',
      'Service/redis',
      'Service/redis-headless',
      'Service/switchboard-dispatcher',
      'ServiceAccount/switchboard-dispatcher',
      'StatefulSet/redis',
    ].sort(),
  );
  const listed = (docs(readFileSync(join(ROOT, 'base/kustomization.yaml'), 'utf8'))[0] as unknown as { resources: string[] }).resources;
  expect(listed.sort()).toEqual(baseFiles.map((f) => relative(join(ROOT, 'base'), f)).sort());
});

test.each(baseObjects.map(({ file, o }) => [`${file}: ${o.kind}/${o.metadata.name}`, o] as const))(
  '%s validates against the official schema',
  async (_name, o) => {
    await expect(validate(o)).resolves.toBeUndefined();
  },
);

test.each(podTemplates(baseObjects.map(({ o }) => o)))('%s passes the restricted Pod Security Standard', (_name, pod) => {
  expect(podSecurityViolations(pod)).toEqual([]);
});

test('a schema violation in an object file is caught', async () => {
  const deployment = structuredClone(baseObjects.find(({ o }) => o.kind === 'Deployment')!.o);
  deployment.spec.replicas = 'two';
  await expect(validate(deployment)).rejects.toThrow(/replicas/);
});

test('the dispatcher: 2 replicas, probes on /readyz and /healthz, resources, Prometheus annotations', () => {
  const d = baseObjects.find(({ o }) => o.kind === 'Deployment')!.o;
  expect(d.spec.replicas).toBe(2);
  const c = d.spec.template.spec.containers[0];
  expect(c.readinessProbe.httpGet.path).toBe('/readyz');
  expect(c.livenessProbe.httpGet.path).toBe('/healthz');
  expect(c.resources.requests).toBeDefined();
  expect(c.resources.limits).toBeDefined();
  expect(d.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/metrics' });
  expect(c.env).toEqual(expect.arrayContaining([{ name: 'SPAWNER_TYPE', value: 'kubernetes' }]));
});

test('the Role is the minimal one: jobs, read-only pods and logs, secrets create/delete/get', () => {
  const role = baseObjects.find(({ o }) => o.kind === 'Role')!.o;
  expect(role.rules).toEqual([
    { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
    { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete', 'get'] },
  ]);
});

test("Redis: AOF on a persistent volume, the default user off and the dispatcher's user with a password", () => {
  const redis = baseObjects.find(({ o }) => o.kind === 'StatefulSet')!.o;
  const args: string[] = redis.spec.template.spec.containers[0].args;
  expect(args.join(' ')).toMatch(/--appendonly yes/);
  expect(args.join(' ')).toContain('--user default off --user switchboard on >$(REDIS_PASSWORD) ~* &* +@all');
  expect(redis.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
});

test("agents' NetworkPolicy: DNS, Redis and INFERENCE_PORT allowed; the dispatcher's PORT, in-cluster addresses and the metadata address not", () => {
  const np = baseObjects.find(({ o }) => o.kind === 'NetworkPolicy')!.o;
  expect(np.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/managed-by': 'switchboard' });
  expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  expect(np.spec.ingress).toEqual([]);
  const rules: {
    to: { podSelector?: { matchLabels: Record<string, string> }; ipBlock?: { cidr: string; except: string[] } }[];
    ports: { port: number }[];
  }[] = np.spec.egress;
  const portsTo = (component: string) =>
    rules
      .filter((r) => r.to.some((t) => t.podSelector?.matchLabels['app.kubernetes.io/component'] === component))
      .flatMap((r) => r.ports.map((p) => p.port));
  expect(rules.some((r) => r.ports.some((p) => p.port === 53))).toBe(true);
  expect(portsTo('redis')).toEqual([6379]);
  expect(portsTo('dispatcher')).toEqual([3001]);
  const internet = rules.find((r) => r.to.some((t) => t.ipBlock))!;
  expect(internet.to[0]!.ipBlock!.except).toEqual(
    expect.arrayContaining(['169.254.169.254/32', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
  );
  expect(internet.ports.map((p) => p.port)).not.toContain(3000);
});

test('the ConfigMap carries a catalogue Switchboard accepts, with no workspace projects', () => {
  const cm = baseObjects.find(({ o }) => o.kind === 'ConfigMap')!.o;
  const catalogue = parseCatalogue(cm.data['projects.yml'], 'manifests/base/projects-configmap.yaml');
  expect([...catalogue.projects.values()].every((p) => !p.workspace)).toBe(true);
});

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Rendering needs kubectl; the object files above are checked everywhere.
if (kubectl) {
  test('kubectl kustomize renders the example overlay into valid, restricted objects with its patches applied', async () => {
    const rendered = docs(execFileSync('kubectl', ['kustomize', join(ROOT, 'overlays/example')], { encoding: 'utf8' }));
    expect(rendered).toHaveLength(baseObjects.length);
    for (const o of rendered) await validate(o);
    for (const [, pod] of podTemplates(rendered)) expect(podSecurityViolations(pod)).toEqual([]);
    const d = rendered.find((o) => o.kind === 'Deployment')!;
    expect(d.spec.template.spec.containers[0].image).toBe('registry.example.com/switchboard/dispatcher:0.1.0');
    expect(d.spec.template.spec.containers[0].env).toEqual(
      expect.arrayContaining([{ name: 'AGENT_IMAGE', value: 'registry.example.com/switchboard/agent:0.1.0' }]),
    );
    const np = rendered.find((o) => o.kind === 'NetworkPolicy')!;
    expect(JSON.stringify(np)).toContain('203.0.113.10/32');
  });
}

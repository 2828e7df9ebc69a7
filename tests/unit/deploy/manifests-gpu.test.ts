// manifests/overlays/gpu: Ollama on a GPU node. Its object files validate
// against the official Kubernetes schema (kubernetes-models) and pass the
// restricted Pod Security Standard; the Deployment requests nvidia.com/gpu and
// keeps its models on the claim; the dispatcher's slots equal Ollama's
// OLLAMA_NUM_PARALLEL; and (kubectl being installed, as on CI here) the
// overlay renders into valid objects with the dispatcher pointed at Ollama.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../src/config/env.js';
import { podSecurityViolations } from '../../support/pod-security.js';

const DIR = join(process.cwd(), 'manifests/overlays/gpu');

interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

const docs = (text: string): KObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KObject)
    .filter(Boolean);
const objects = ['ollama-pvc.yaml', 'ollama-deployment.yaml', 'ollama-service.yaml'].flatMap((f) =>
  docs(readFileSync(join(DIR, f), 'utf8')),
);
const byKind = (kind: string, list: KObject[] = objects) => list.find((o) => o.kind === kind && o.metadata.name.startsWith('ollama'))!;

async function validate(o: KObject): Promise<void> {
  const mod = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, new (o: unknown) => { validate(): void }>;
  new mod[o.kind]!(o).validate();
}

test.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))(
  '%s validates against the official schema',
  async (_name, o) => {
    await expect(validate(o)).resolves.toBeUndefined();
  },
);

test('a schema violation in the Ollama Deployment is caught', async () => {
  const broken = structuredClone(byKind('Deployment'));
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'eleven';
  await expect(validate(broken)).rejects.toThrow(/containerPort/);
});

test('Ollama requests a GPU, keeps its models on the claim, and passes the restricted Pod Security Standard', () => {
  const d = byKind('Deployment');
  const pod = d.spec.template.spec;
  expect(podSecurityViolations(pod)).toEqual([]);
  const c = pod.containers[0];
  expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
  const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  expect(env).toMatchObject({ OLLAMA_NUM_PARALLEL: '2', OLLAMA_KEEP_ALIVE: '24h', OLLAMA_MODELS: '/models' });
  const claim = pod.volumes.find((v: { name: string }) => v.name === 'models').persistentVolumeClaim.claimName;
  expect(claim).toBe(byKind('PersistentVolumeClaim').metadata.name);
  expect(c.volumeMounts).toEqual(expect.arrayContaining([{ name: 'models', mountPath: '/models' }]));
  expect(d.spec.strategy.type).toBe('Recreate');
  const svc = byKind('Service');
  expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
  expect(svc.spec.ports[0].port).toBe(11434);
});

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

if (kubectl) {
  test('kubectl kustomize renders the gpu overlay: valid objects, the dispatcher pointed at Ollama with matching slots', async () => {
    const rendered = docs(execFileSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' }));
    for (const o of rendered) await validate(o);
    const dispatcher = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'switchboard-dispatcher')!;
    const env = Object.fromEntries(
      (dispatcher.spec.template.spec.containers[0].env as { name: string; value?: string }[])
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, e.value!]),
    );
    const ollama = byKind('Deployment', rendered);
    const numParallel = ollama.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'OLLAMA_NUM_PARALLEL').value;
    expect(env.OLLAMA_SLOTS).toBe(numParallel);
    // The dispatcher's own config check accepts these settings.
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', ...env });
    expect(config.inference).toMatchObject({
      ollamaUrls: 'http://ollama:11434/',
      slots: 2,
      heavyModel: 'qwen2.5-coder:32b',
      lightModel: 'llama3.2:3b',
      port: 3001,
    });
  });
}

// The restricted Pod Security Standard checker catches each control it checks:
// one fixture per control, each breaking only that one, from a passing pod.
import { podSecurityViolations, type Control } from '../../support/pod-security.js';

const passing = () => ({
  automountServiceAccountToken: false,
  securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [
    {
      name: 'app',
      image: 'x',
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    },
  ],
  volumes: [{ name: 'tmp', emptyDir: {} }],
});
type Pod = ReturnType<typeof passing> & Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sc = (p: Pod): any => p.containers[0]!.securityContext;

const fixtures: [Control, (p: Pod) => void][] = [
  ['hostProcess', (p) => (sc(p).windowsOptions = { hostProcess: true })],
  ['hostNamespaces', (p) => (p.hostNetwork = true)],
  ['privileged', (p) => (sc(p).privileged = true)],
  ['capabilities.baseline', (p) => (sc(p).capabilities.add = ['SYS_ADMIN'])],
  ['hostPathVolumes', (p) => (p.volumes[0] = { name: 'tmp', hostPath: { path: '/var/run/docker.sock' } } as never)],
  ['hostPorts', (p) => ((p.containers[0] as Record<string, unknown>).ports = [{ containerPort: 80, hostPort: 80 }])],
  ['appArmor', (p) => (sc(p).appArmorProfile = { type: 'Unconfined' })],
  ['seLinux', (p) => (sc(p).seLinuxOptions = { type: 'spc_t' })],
  ['procMount', (p) => (sc(p).procMount = 'Unmasked')],
  ['sysctls', (p) => ((p.securityContext as Record<string, unknown>).sysctls = [{ name: 'kernel.msgmax', value: '1' }])],
  ['volumeTypes', (p) => (p.volumes[0] = { name: 'tmp', nfs: { server: 'x', path: '/' } } as never)],
  ['allowPrivilegeEscalation', (p) => delete sc(p).allowPrivilegeEscalation],
  ['runAsNonRoot', (p) => (p.securityContext.runAsNonRoot = false)],
  ['runAsUser', (p) => (sc(p).runAsUser = 0)],
  ['seccompProfile', (p) => (p.securityContext.seccompProfile = { type: 'Unconfined' })],
  ['capabilities.restricted', (p) => (sc(p).capabilities = { drop: ['NET_RAW'] })],
  ['readOnlyRootFilesystem', (p) => (sc(p).readOnlyRootFilesystem = false)],
];

test('the passing pod passes', () => {
  expect(podSecurityViolations(passing())).toEqual([]);
});

test.each(fixtures)('a pod that breaks %s is caught', (control, breakIt) => {
  const pod = passing() as Pod;
  breakIt(pod);
  expect(podSecurityViolations(pod)).toContain(control);
});

// The "restricted" Pod Security Standard (Kubernetes v1.33), control by
// control, as the PodSecurity admission plugin checks a pod spec; plus our own
// rule that agent and dispatcher pods run with a read-only root filesystem.
// Returns the controls a pod spec breaks (empty: it passes).

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const ALLOWED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const BASELINE_CAPS = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

export type Control =
  | 'hostProcess'
  | 'hostNamespaces'
  | 'privileged'
  | 'capabilities.baseline'
  | 'hostPathVolumes'
  | 'hostPorts'
  | 'appArmor'
  | 'seLinux'
  | 'procMount'
  | 'sysctls'
  | 'volumeTypes'
  | 'allowPrivilegeEscalation'
  | 'runAsNonRoot'
  | 'runAsUser'
  | 'seccompProfile'
  | 'capabilities.restricted'
  | 'readOnlyRootFilesystem';

export function podSecurityViolations(pod: Json): Control[] {
  const out = new Set<Control>();
  const psc = pod.securityContext ?? {};
  const containers: Json[] = [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])];
  if (psc.windowsOptions?.hostProcess || containers.some((c) => c.securityContext?.windowsOptions?.hostProcess)) out.add('hostProcess');
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.add('hostNamespaces');
  for (const v of pod.volumes ?? []) {
    if (v.hostPath) out.add('hostPathVolumes');
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUMES.has(type)) out.add('volumeTypes');
  }
  const selinuxOk = (o: Json) => !o?.type || ['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'].includes(o.type);
  const selinuxUserRole = (o: Json) => !o?.user && !o?.role;
  if (!selinuxOk(psc.seLinuxOptions) || !selinuxUserRole(psc.seLinuxOptions)) out.add('seLinux');
  if (psc.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(psc.appArmorProfile.type)) out.add('appArmor');
  for (const s of psc.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) out.add('sysctls');
  const podSeccomp = psc.seccompProfile?.type;
  if (podSeccomp === 'Unconfined') out.add('seccompProfile');
  if (psc.runAsUser === 0) out.add('runAsUser');
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) out.add('privileged');
    for (const cap of sc.capabilities?.add ?? []) {
      if (!BASELINE_CAPS.has(cap)) out.add('capabilities.baseline');
      if (cap !== 'NET_BIND_SERVICE') out.add('capabilities.restricted');
    }
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.add('capabilities.restricted');
    if ((c.ports ?? []).some((p: Json) => p.hostPort)) out.add('hostPorts');
    if (sc.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(sc.appArmorProfile.type)) out.add('appArmor');
    if (!selinuxOk(sc.seLinuxOptions) || !selinuxUserRole(sc.seLinuxOptions)) out.add('seLinux');
    if (sc.procMount && sc.procMount !== 'Default') out.add('procMount');
    if (sc.allowPrivilegeEscalation !== false) out.add('allowPrivilegeEscalation');
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot !== true || sc.runAsNonRoot === false) out.add('runAsNonRoot');
    if (sc.runAsUser === 0) out.add('runAsUser');
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (!seccomp || !['RuntimeDefault', 'Localhost'].includes(seccomp)) out.add('seccompProfile');
    if (sc.readOnlyRootFilesystem !== true) out.add('readOnlyRootFilesystem');
  }
  return [...out];
}

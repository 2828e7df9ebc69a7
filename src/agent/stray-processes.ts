// After the agent command has ended, nothing it started may still run when the
// runner pushes with the token: a process the agent left behind (a daemon that
// escaped its process group with setsid) could read the push's environment
// from /proc. Inside the agent container every process of the runner's user,
// other than the runner itself and the container's init, is the agent's.
import { readdirSync, readFileSync, statSync } from 'node:fs';

/** Whether this runner is the agent container's main process (its pid namespace is the container's). */
export function runsAsContainerMain(): boolean {
  if (process.pid === 1) return true;
  if (process.ppid !== 1) return false;
  try {
    const init = readFileSync('/proc/1/cmdline', 'utf8').split('\0')[0] ?? '';
    return /(?:^|\/)(?:docker-init|tini|dumb-init|catatonit)$/.test(init);
  } catch {
    return false;
  }
}

/** SIGKILLs every process of this user except the runner and pid 1; returns how many. */
export function killStrayProcesses(): number {
  const uid = process.getuid?.();
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === 1 || pid === process.pid) continue;
    try {
      if (statSync(`/proc/${pid}`).uid !== uid) continue;
      process.kill(pid, 'SIGKILL');
      killed += 1;
    } catch {
      // Gone already, or not ours.
    }
  }
  return killed;
}

import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { PID_FILE } from './global-setup.js';

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(PID_FILE)) return;
  const pid = Number(readFileSync(PID_FILE, 'utf8'));
  unlinkSync(PID_FILE);
  try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
}

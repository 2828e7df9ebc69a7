// How an agent's exit code reads in chat when it says more than a number.

/** Exit codes 128+n mean signal n; the two an agent meets are said in words. */
export function signalWords(exitCode: number | null | undefined): string | undefined {
  if (exitCode === 137) return 'it was killed by SIGKILL: a docker kill, a stop past its grace period, or the memory limit';
  if (exitCode === 143) return 'it was terminated by SIGTERM';
  return undefined;
}

// How a job's use of the GPU reads (issue 9): its place in line while a
// request waits for a slot, and the GPU time it used. Pure.
import { ordinal } from './job-parts.js';

/** "waiting for the GPU · 3rd in line" (position 1 = next). */
export function gpuWaitText(position: number): string {
  return position <= 1 ? 'waiting for the GPU · next in line' : `waiting for the GPU · ${ordinal(position)} in line`;
}

/** "GPU 12.3 s", "GPU 4m 5s". */
export function gpuTimeText(seconds: number): string {
  if (seconds < 60) return `GPU ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const s = Math.round(seconds);
  return `GPU ${Math.floor(s / 60)}m ${s % 60}s`;
}

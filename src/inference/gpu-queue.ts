// The dashboard's view of the inference router's GPU queue. The router
// (src/inference/) implements this and hands it to the dashboard in
// dispatcher.ts; without inference the dashboard says there is none.

export interface GpuQueueEntry {
  jobId: string;
  model: string;
  /** 'running': holds a GPU slot; 'waiting': queued for one. */
  state: 'running' | 'waiting';
  /** When it started waiting or running (ms since the epoch). */
  since: number;
  /** The endpoint serving it, without credentials. */
  endpoint?: string;
}

export interface GpuQueueView {
  /** Running requests first, then waiting ones in the order they will be served. */
  entries(): Promise<GpuQueueEntry[]>;
}

// Ollama's own scheduling, as the server does it: OLLAMA_NUM_PARALLEL requests
// run at once, up to OLLAMA_MAX_QUEUE more wait (first come, first served),
// and a request beyond that is refused with 503 "server busy". That race and
// that 503 are what the router exists to avoid, so the double must have them.

export class ServerBusyError extends Error {
  constructor() {
    super('server busy, please try again.  maximum pending requests exceeded');
    this.name = 'ServerBusyError';
  }
}

interface Waiter {
  grant: (release: () => void) => void;
  signal: AbortSignal;
}

export class Slots {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** Most requests ever generating at once (what a test of the router's semaphore checks). */
  maxRunning = 0;

  constructor(
    private readonly parallel: () => number,
    private readonly maxQueue: () => number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once a slot is free; throws ServerBusyError when the queue is full. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    if (this.running < this.parallel() && this.waiting.length === 0) return this.take();
    if (this.waiting.length >= this.maxQueue()) throw new ServerBusyError();
    return new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = { grant: resolve, signal };
      this.waiting.push(waiter);
      signal.addEventListener(
        'abort',
        () => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new Error('client went away while queued'));
        },
        { once: true },
      );
    });
  }

  private take(): () => void {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
      this.pump();
    };
  }

  private pump(): void {
    while (this.running < this.parallel() && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      if (next.signal.aborted) continue;
      // The slot is counted here, before the waiter's continuation runs.
      next.grant(this.take());
    }
  }
}

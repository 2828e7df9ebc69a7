// Socket Mode: apps.connections.open hands out single-use tickets for
// ws://…/link/?ticket=…; on connect the app gets `hello`, then envelopes it
// must ack with {envelope_id, payload?}.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';

export interface Envelope {
  envelope_id: string;
  type: string;
  payload: unknown;
  accepts_response_payload: boolean;
  retry_attempt: number;
  retry_reason: string;
}

export class SocketHub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly open = new Set<WebSocket>();
  private readonly acks = new Map<string, (payload: unknown) => void>();
  private readonly connectWaiters = new Set<() => void>();
  private next = 0;
  /** True once any app connected: later deliveries wait for a reconnect instead of failing outright. */
  everConnected = false;

  constructor(private readonly appId: string) {}

  issueUrl(base: string): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `${base}/link/?ticket=${ticket}&app_id=${this.appId}`;
  }

  connections(): number {
    return this.open.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    this.open.add(ws);
    this.everConnected = true;
    ws.on('close', () => this.open.delete(ws));
    ws.on('error', () => this.open.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      if (typeof msg !== 'object' || msg === null) return;
      const { envelope_id: id, payload } = msg as { envelope_id?: unknown; payload?: unknown };
      if (typeof id !== 'string') return;
      const resolve = this.acks.get(id);
      if (resolve) {
        this.acks.delete(id);
        resolve(payload);
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.open.size,
        debug_info: { host: 'emulator-1', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    for (const w of this.connectWaiters) w();
    this.connectWaiters.clear();
  }

  /** Waits until a connection is open, or `ms` passed; says whether one is open. */
  waitForConnection(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.open.size > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.connectWaiters.delete(finish);
        signal.removeEventListener('abort', finish);
        resolve(this.open.size > 0);
      };
      const timer = setTimeout(finish, ms);
      this.connectWaiters.add(finish);
      signal.addEventListener('abort', finish);
    });
  }

  /** Sends the envelope on one open connection (round robin) and waits up to `ms` for its ack. */
  deliver(env: Envelope, ms: number, signal: AbortSignal): Promise<{ acked: true; payload: unknown } | { acked: false }> {
    const sockets = [...this.open].filter((s) => s.readyState === WebSocket.OPEN);
    const ws = sockets[this.next++ % Math.max(sockets.length, 1)];
    return new Promise((resolve) => {
      const finish = (r: { acked: true; payload: unknown } | { acked: false }): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.acks.get(env.envelope_id) === onAck) this.acks.delete(env.envelope_id);
        resolve(r);
      };
      const onAck = (payload: unknown): void => finish({ acked: true, payload });
      const onAbort = (): void => finish({ acked: false });
      const timer = setTimeout(() => finish({ acked: false }), ms);
      signal.addEventListener('abort', onAbort);
      this.acks.set(env.envelope_id, onAck);
      ws?.send(JSON.stringify(env));
    });
  }

  disconnectAll(reason: string): void {
    for (const ws of this.open) {
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'emulator-1' } }));
      ws.close(1000);
      this.open.delete(ws);
    }
  }

  /** Closes every connection with a proper close handshake (so clients see a clean close), then stops. */
  async close(graceMs = 500): Promise<void> {
    for (const w of this.connectWaiters) w();
    const clients = [...this.wss.clients];
    this.open.clear();
    await Promise.all(
      clients.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => {
              ws.terminate();
              resolve();
            }, graceMs);
            ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            if (ws.readyState === WebSocket.OPEN) ws.close(1001, 'emulator shutting down');
          }),
      ),
    );
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

// Live reload of the catalogue: the last good one stays in use.
import { stat } from 'node:fs/promises';
import type { Catalogue } from '../domain/project.js';
import { parseCatalogue, readCatalogueFile } from './catalogue-parse.js';

export interface CatalogueWatcherOptions {
  onReload?: (c: Catalogue) => void;
  /** Called with a ConfigError when an edit is invalid or the file vanished; the last good catalogue stays in use. */
  onError?: (e: Error) => void;
  /** Poll interval; default 2000 ms. */
  intervalMs?: number;
}

/**
 * Keeps the catalogue current without a restart. It polls the file's stat
 * (inode, size, mtime, ctime) on a timer: unlike fs.watch this survives
 * editors and ConfigMap updates that replace the file by rename, and unlike
 * fs.watchFile the baseline is the stat taken just before the last read, so an
 * edit made right after a load is never missed. A change is read once its stat
 * has been stable for one interval. An invalid edit is reported
 * through onError (once per distinct content) and the last good catalogue
 * stays in use.
 */
export class CatalogueWatcher {
  private catalogue: Catalogue | undefined;
  private lastText: string | undefined;
  private lastSignature: string | undefined;
  private pendingSignature: string | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly opts: CatalogueWatcherOptions = {},
  ) {}

  /** Loads the catalogue once (throws ConfigError if invalid), then watches the file. */
  static async open(file: string, opts: CatalogueWatcherOptions = {}): Promise<CatalogueWatcher> {
    const w = new CatalogueWatcher(file, opts);
    await w.reload();
    w.start();
    return w;
  }

  /** The catalogue in use. */
  current(): Catalogue {
    if (this.catalogue === undefined) throw new Error('CatalogueWatcher: no catalogue loaded yet — use CatalogueWatcher.open()');
    return this.catalogue;
  }

  /** Starts polling (idempotent; `open()` calls it). The timer does not keep the process alive. */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs ?? 2000);
    this.timer.unref();
  }

  /**
   * Re-reads the file now (what a detected change does; also handy for
   * SIGHUP). Resolves with the catalogue in use afterwards; an invalid file
   * rejects with a ConfigError and leaves the last good catalogue in place.
   */
  reload(): Promise<Catalogue> {
    const next = this.chain.then(() => this.load());
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const signature = await this.signature();
      if (signature === this.lastSignature) {
        this.pendingSignature = undefined;
      } else if (signature !== this.pendingSignature) {
        // Changed: wait one more interval for it to settle, so a file being
        // written in place (truncate, then write) is not read half-way.
        this.pendingSignature = signature;
      } else {
        this.pendingSignature = undefined;
        await this.reload().catch(() => undefined);
      }
    } finally {
      this.polling = false;
    }
  }

  private async signature(): Promise<string> {
    try {
      const st = await stat(this.file);
      return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (e) {
      return `error:${(e as NodeJS.ErrnoException).code ?? 'unknown'}`;
    }
  }

  private async load(): Promise<Catalogue> {
    // Stat before reading: a change that lands during the read shows up as a
    // new signature on the next poll instead of being lost.
    const signature = await this.signature();
    const sameFile = signature === this.lastSignature;
    this.lastSignature = signature;
    let text: string;
    try {
      text = await readCatalogueFile(this.file);
    } catch (e) {
      if (!sameFile) this.report(e as Error);
      this.lastText = undefined;
      throw e;
    }
    if (this.catalogue !== undefined && text === this.lastText) return this.catalogue;
    const changed = text !== this.lastText;
    this.lastText = text;
    let cat: Catalogue;
    try {
      cat = parseCatalogue(text, this.file);
    } catch (e) {
      if (changed) this.report(e as Error);
      throw e;
    }
    const first = this.catalogue === undefined;
    this.catalogue = cat;
    if (!first && !this.closed) this.opts.onReload?.(cat);
    return cat;
  }

  /** Problems with an edit go to onError; before the first good load the caller gets the throw. */
  private report(err: Error): void {
    if (this.catalogue !== undefined && !this.closed) this.opts.onError?.(err);
  }
}

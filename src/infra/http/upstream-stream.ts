import { StringDecoder } from 'node:string_decoder';
import { Dispatcher } from 'undici';

/** Text queued for a slow reader before the upstream socket is paused (back-pressure). */
const HIGH_WATER = 256 * 1024;
/** After `close()`, how long and how much of an unfinished body is read and dropped before aborting. */
const DRAIN_MS = 2000;
const DRAIN_BYTES = 256 * 1024;

/** An upstream answer whose body is read as it arrives (Server-Sent Events), on undici's dispatch API. */
export interface UpstreamStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Decoded text as it arrives; transport failures are thrown as the error `fail` was given. */
  pieces(): AsyncIterableIterator<string>;
  /** Raw bytes as they arrive, for binary stream formats (only when opened with `binary`). */
  bytes(): AsyncIterableIterator<Uint8Array>;
  /** The whole rest of the body as text (an error answer), bounded by the client's response limit. */
  text(): Promise<string>;
  /**
   * Stops reading. A body that already ended costs nothing; an unfinished one is read and dropped for a
   * moment (a provider ends its answer right after the last event, and a connection whose body was
   * read to the end stays in the keep-alive pool), then aborted.
   */
  close(): void;
}

/**
 * The dispatch handler behind an UpstreamStream: a queue of decoded text between undici's callbacks and
 * one async reader. No Node stream, async-iterator wrapper or AbortError per request; back-pressure by
 * pausing the socket.
 */
export class StreamingBody implements UpstreamStream, Dispatcher.DispatchHandler {
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  private controller: Dispatcher.DispatchController | undefined;
  private readonly decoder = new StringDecoder('utf8');
  /** Decoded text, or raw Buffers in binary mode. */
  private queue: (string | Buffer)[] = [];
  /** UTF-16 units (bytes in binary mode) waiting in the queue (a cheap stand-in for bytes). */
  private queued = 0;
  private size = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiting: ((result: IteratorResult<string | Buffer>) => void) | undefined;
  private failWaiting: ((error: Error) => void) | undefined;
  private closed = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private pendingAbort: Error | undefined;

  constructor(
    private readonly started: { resolve: (body: StreamingBody) => void; reject: (error: Error) => void },
    private readonly limit: number,
    private readonly classify: (error: unknown) => Error,
    private readonly tooLarge: () => Error,
    /** Called once when undici is done with the request (ended or failed). */
    private readonly settled: () => void,
    /** Queue raw bytes instead of UTF-8 text (binary stream formats such as AWS event-stream). */
    private readonly binary = false,
  ) {}

  /** Aborts the request (client gone, timeout of ours); undici then reports the reason as the error. */
  abort(reason: Error): void {
    if (this.ended || this.failure) return;
    if (this.controller) this.controller.abort(reason);
    else this.pendingAbort = reason;
  }

  // -- undici's side

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx informational: the real answer follows
    this.status = statusCode;
    this.headers = headers;
    this.started.resolve(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.closed) {
      this.dropped += chunk.length;
      if (this.dropped > DRAIN_BYTES) controller.abort(this.classify(new Error('closed')));
      return;
    }
    if (this.size > this.limit) {
      controller.abort(this.tooLarge());
      return;
    }
    const text = this.binary ? chunk : this.decoder.write(chunk);
    if (text.length === 0) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      resolve({ value: text, done: false });
      return;
    }
    this.queue.push(text);
    this.queued += text.length;
    if (this.queued > HIGH_WATER) controller.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.settled();
    clearTimeout(this.drainTimer);
    const tail = this.closed || this.binary ? '' : this.decoder.end();
    if (tail !== '') this.queue.push(tail);
    this.wake();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settled();
    clearTimeout(this.drainTimer);
    this.failure = this.classify(error);
    if (this.status === 0) {
      this.started.reject(this.failure);
      return;
    }
    this.wake();
  }

  // -- the reader's side

  pieces(): AsyncIterableIterator<string> {
    return this as AsyncIterableIterator<string>;
  }

  bytes(): AsyncIterableIterator<Uint8Array> {
    return this as AsyncIterableIterator<Uint8Array>;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer> {
    return this;
  }

  next(): Promise<IteratorResult<string | Buffer>> {
    if (this.queue.length > 0) {
      return Promise.resolve({ value: this.take(), done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended || this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<string | Buffer>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  async text(): Promise<string> {
    let text = '';
    for await (const piece of this) text += typeof piece === 'string' ? piece : this.decoder.write(piece);
    return this.binary ? text + this.decoder.end() : text;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    this.wake();
    if (this.ended || this.failure) return;
    this.controller?.resume();
    this.drainTimer = setTimeout(() => this.controller?.abort(this.classify(new Error('closed'))), DRAIN_MS);
    this.drainTimer.unref();
  }

  private take(): string | Buffer {
    const value = this.queue.shift()!;
    this.queued -= value.length;
    if (this.queued <= HIGH_WATER / 2 && this.controller?.paused) this.controller.resume();
    return value;
  }

  private wake(): void {
    const resolve = this.waiting;
    const reject = this.failWaiting;
    if (!resolve) return;
    this.waiting = this.failWaiting = undefined;
    if (this.queue.length > 0) resolve({ value: this.take(), done: false });
    else if (this.failure && !this.closed) reject!(this.failure);
    else resolve({ value: undefined, done: true });
  }
}

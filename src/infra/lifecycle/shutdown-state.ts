import { setMaxListeners } from 'node:events';
import { Injectable } from '@nestjs/common';

/**
 * Where this process is in its shutdown. `draining` turns readiness to 503 and puts `Connection: close`
 * on every answer; `streamsEnd` fires at the drain deadline, when open streams are ended with their
 * format's terminal error event. Per process: each cluster worker drains on its own.
 */
@Injectable()
export class ShutdownState {
  private drainingSince: number | undefined;
  private readonly deadline = new AbortController();

  constructor() {
    // Every open stream listens while it waits for its next chunk (and stops after): one listener per
    // stream in flight, so Node's leak warning at 11 would fire under ordinary load.
    setMaxListeners(0, this.deadline.signal);
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Aborted at the drain deadline. */
  get streamsEnd(): AbortSignal {
    return this.deadline.signal;
  }

  beginDrain(): void {
    this.drainingSince ??= Date.now();
  }

  endStreams(): void {
    this.beginDrain();
    this.deadline.abort();
  }
}

import { EventStreamCodec } from '@smithy/eventstream-codec';
import type { MessageHeaders } from '@smithy/types';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import {
  SseEvent,
  StreamDecoder,
  StreamFraming,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';
/** Event name given to an `:message-type: exception` frame; its data is `{"type", "message"}`. */
export const EXCEPTION_EVENT = 'exception';
/** The 4-byte total length that starts every frame, and the most a frame may claim (AWS caps them at 16 MiB). */
const PRELUDE_BYTES = 4;
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/**
 * Cuts an AWS event stream (application/vnd.amazon.eventstream) into frames and decodes each with
 * `@smithy/eventstream-codec` (which checks both CRCs). An `event` frame becomes `{event: :event-type,
 * data: payload}`; an `exception` or `error` frame becomes `{event: "exception", data: {"type","message"}}`.
 */
export class EventStreamDecoder implements StreamDecoder {
  private buffer: Uint8Array = new Uint8Array(0);

  feed(bytes: Uint8Array): SseEvent[] {
    this.buffer = this.buffer.length === 0 ? bytes : concat(this.buffer, bytes);
    const events: SseEvent[] = [];
    let offset = 0;
    while (this.buffer.length - offset >= PRELUDE_BYTES) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + offset, PRELUDE_BYTES);
      const length = view.getUint32(0, false);
      if (length < 16 || length > MAX_FRAME_BYTES) {
        throw new UpstreamProtocolError('invalid event-stream frame length');
      }
      if (this.buffer.length - offset < length) break;
      events.push(toEvent(this.buffer.subarray(offset, offset + length)));
      offset += length;
    }
    this.buffer = offset === this.buffer.length ? new Uint8Array(0) : this.buffer.slice(offset);
    return events;
  }

  end(): SseEvent[] {
    if (this.buffer.length > 0) throw new UpstreamProtocolError('event stream ended inside a frame');
    return [];
  }
}

export const EVENT_STREAM_FRAMING: StreamFraming = {
  contentType: EVENT_STREAM_CONTENT_TYPE,
  createDecoder: () => new EventStreamDecoder(),
};

function toEvent(frame: Uint8Array): SseEvent {
  let headers: MessageHeaders;
  let body: Uint8Array;
  try {
    ({ headers, body } = codec.decode(frame));
  } catch {
    throw new UpstreamProtocolError('corrupt event-stream frame');
  }
  const header = (name: string) => {
    const value = headers[name];
    return value?.type === 'string' ? value.value : undefined;
  };
  const text = toUtf8(body);
  switch (header(':message-type')) {
    case 'event':
      return { event: header(':event-type') ?? '', data: text };
    case 'exception':
      return {
        event: EXCEPTION_EVENT,
        data: JSON.stringify({ type: header(':exception-type') ?? 'exception', message: messageOf(text) }),
      };
    case 'error':
      return {
        event: EXCEPTION_EVENT,
        data: JSON.stringify({
          type: header(':error-code') ?? 'error',
          message: header(':error-message') ?? 'stream error',
        }),
      };
    default:
      throw new UpstreamProtocolError('event-stream frame without a known :message-type');
  }
}

function messageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const record = parsed as Record<string, unknown>;
      const message = record.message ?? record.Message;
      if (typeof message === 'string') return message;
    }
  } catch {
    // not JSON: generic message below
  }
  return 'the upstream stream reported an exception';
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

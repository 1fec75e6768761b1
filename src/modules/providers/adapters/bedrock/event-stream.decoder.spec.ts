import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { EventStreamDecoder } from 'src/modules/providers/adapters/bedrock/event-stream.decoder';
import { UpstreamProtocolError } from 'src/modules/providers/provider-adapter';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function frame(headers: Record<string, string>, body: string): Uint8Array {
  return codec.encode({
    headers: Object.fromEntries(Object.entries(headers).map(([k, value]) => [k, { type: 'string', value }])),
    body: fromUtf8(body),
  });
}

const event = (type: string, body: string) =>
  frame({ ':message-type': 'event', ':event-type': type, ':content-type': 'application/json' }, body);

describe('EventStreamDecoder', () => {
  it('cuts frames out of arbitrary pieces and names them by :event-type', () => {
    const bytes = Buffer.concat([
      event('messageStart', '{"role":"assistant"}'),
      event('contentBlockDelta', '{"delta":{"text":"hé"}}'),
    ]);
    for (const size of [1, 5, 17, bytes.length]) {
      const decoder = new EventStreamDecoder();
      const events = [];
      for (let i = 0; i < bytes.length; i += size) events.push(...decoder.feed(bytes.subarray(i, i + size)));
      expect(events).toEqual([
        { event: 'messageStart', data: '{"role":"assistant"}' },
        { event: 'contentBlockDelta', data: '{"delta":{"text":"hé"}}' },
      ]);
      expect(decoder.end()).toEqual([]);
    }
  });

  it('turns exception and error frames into the exception event with type and message', () => {
    const decoder = new EventStreamDecoder();
    const bytes = Buffer.concat([
      frame(
        { ':message-type': 'exception', ':exception-type': 'modelStreamErrorException' },
        '{"message":"model broke"}',
      ),
      frame({ ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'oops' }, ''),
    ]);
    expect(decoder.feed(bytes)).toEqual([
      { event: 'exception', data: '{"type":"modelStreamErrorException","message":"model broke"}' },
      { event: 'exception', data: '{"type":"InternalFailure","message":"oops"}' },
    ]);
  });

  it('refuses a frame whose CRC does not match, an absurd length, and a stream cut inside a frame', () => {
    const corrupt = Buffer.from(event('metadata', '{"usage":{}}'));
    corrupt[corrupt.length - 6] ^= 0xff;
    expect(() => new EventStreamDecoder().feed(corrupt)).toThrow(UpstreamProtocolError);
    expect(() => new EventStreamDecoder().feed(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]))).toThrow(
      'invalid event-stream frame length',
    );
    const cut = new EventStreamDecoder();
    expect(cut.feed(event('metadata', '{}').subarray(0, 20))).toEqual([]);
    expect(() => cut.end()).toThrow('event stream ended inside a frame');
  });
});

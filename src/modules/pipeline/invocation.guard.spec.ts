import { EventEmitter } from 'node:events';
import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import {
  INVOCATION_ANSWERED,
  INVOCATION_FINISHED,
  InvocationRecord,
} from 'src/common/observability/invocation';
import { InvocationTracker } from 'src/common/observability/invocation-tracker.service';
import { InvocationGuard } from 'src/modules/pipeline/invocation.guard';
import { InvocationSpec } from 'src/modules/pipeline/invocation-context';
import { InvocationResolver } from 'src/modules/pipeline/invocation-resolver';

/** The parts of a node:http ServerResponse the guard uses; `end` logs when the bytes would go out. */
class FakeRaw extends EventEmitter {
  statusCode = 200;
  destroyed = false;
  writableEnded = false;
  writableFinished = false;
  constructor(private readonly log: string[]) {
    super();
  }
  end(body?: string): this {
    this.log.push(`bytes sent: ${body ?? ''}`);
    this.writableEnded = true;
    this.writableFinished = true;
    return this;
  }
}

describe('InvocationGuard', () => {
  const spec: InvocationSpec = { surface: 'openai', op: 'chat', name: 'body-model' };
  let log: string[];
  let raw: FakeRaw;
  let events: EventEmitter2;

  const activate = () => {
    const guard = new InvocationGuard(
      { get: () => spec } as unknown as Reflector,
      new InvocationTracker(events),
      { resolve: () => undefined } as unknown as InvocationResolver,
    );
    const request = {
      id: 'req-1',
      headers: {},
      ip: '127.0.0.1',
      body: {},
      query: {},
      url: '/v1/chat/completions',
    };
    const context = {
      getHandler: () => undefined,
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({ raw }) }),
    } as unknown as ExecutionContext;
    expect(guard.canActivate(context)).toBe(true);
  };

  beforeEach(() => {
    log = [];
    raw = new FakeRaw(log);
    events = new EventEmitter2();
    events.on(INVOCATION_ANSWERED, (r: InvocationRecord) => log.push(`answered ${r.outcome} ${r.status}`));
    events.on(INVOCATION_FINISHED, (r: InvocationRecord) =>
      log.push(`finished ${r.outcome} ${r.answered === true}`),
    );
  });

  it('emits the finished record before the last byte is written, then once more at close', () => {
    activate();
    raw.statusCode = 201;
    raw.end('{"ok":true}');
    expect(log).toEqual(['answered success 201', 'bytes sent: {"ok":true}']);
    raw.end(); // a second end() changes nothing
    raw.emit('close');
    expect(log).toEqual([
      'answered success 201',
      'bytes sent: {"ok":true}',
      'bytes sent: ',
      'finished success true',
    ]);
  });

  it('records a caller who left before the end as cancelled, at close, without an answered event', () => {
    activate();
    raw.emit('close');
    expect(log).toEqual(['finished cancelled false']);
  });

  it('does not count an end() on a destroyed socket as an answer', () => {
    activate();
    raw.destroyed = true;
    raw.end();
    raw.writableFinished = false;
    raw.emit('close');
    expect(log).toEqual(['bytes sent: ', 'finished cancelled false']);
  });
});

import { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { OverloadShedder } from 'src/common/http/overload-shedder';

const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    /* block the event loop */
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ask(shedder: OverloadShedder, url: string): Error | undefined {
  let result: Error | undefined;
  shedder.onRequest({ url } as FastifyRequest, {} as FastifyReply, (error) => (result = error));
  return result;
}

describe('OverloadShedder', () => {
  it('sheds data-plane requests with 503 and Retry-After while the event loop lags, and stops after', async () => {
    const shedder = new OverloadShedder(50, 100);
    try {
      expect(ask(shedder, '/v1/chat/completions')).toBeUndefined();
      // Block the loop for well over a window: the window's timer comes ~150 ms late.
      for (let i = 0; i < 2; i++) {
        busy(250);
        await sleep(1);
      }
      const refused = ask(shedder, '/v1/chat/completions');
      expect(refused).toBeInstanceOf(GatewayException);
      expect((refused as GatewayException).status).toBe(503);
      expect((refused as GatewayException).options.retryAfter).toBe('1');
      expect(ask(shedder, '/health/ready')).toBeUndefined();
      expect(ask(shedder, '/admin/v1/keys')).toBeUndefined();
      expect(ask(shedder, '/metrics')).toBeUndefined();
      expect(shedder.shed).toBe(1);
      // Idle windows: admission resumes.
      await sleep(450);
      expect(ask(shedder, '/v1/chat/completions')).toBeUndefined();
    } finally {
      shedder.close();
    }
  });
});

import { Injectable } from '@nestjs/common';
import { ChatCompletion } from 'src/modules/providers/provider-adapter';
import { ExternalJudgeRequest, ExternalModerationCaller } from 'src/modules/moderation/moderation.types';
import { RouteTable } from 'src/modules/routing/route-table';
import { RoutingService } from 'src/modules/routing/routing.service';

export class ExternalModerationError extends Error {}

/** Calls a judge model through the gateway's own routing (its adapters, pools and timeouts). */
@Injectable()
export class ExternalModerationClient implements ExternalModerationCaller {
  constructor(private readonly routing: RoutingService) {}

  async complete(request: ExternalJudgeRequest): Promise<string> {
    const entry = this.routing.resolve(request.endpoint);
    if (!entry || entry.endpointType !== 'llm/v1/chat') {
      throw new ExternalModerationError(`judge endpoint '${request.endpoint}' is not a chat endpoint`);
    }
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const signal = AbortSignal.any([request.signal, timeout]);
    const call = this.routing.invoke(
      'chat',
      { messages: [{ role: 'user', content: request.prompt }], temperature: 0, max_tokens: 32 },
      RouteTable.pick(entry),
      signal,
    );
    // The deadline holds even if the upstream ignores the abort.
    const deadline = new Promise<never>((_, reject) => {
      const onAbort = () => reject(new ExternalModerationError('judge timed out'));
      if (timeout.aborted) onAbort();
      else timeout.addEventListener('abort', onAbort, { once: true });
    });
    let response: ChatCompletion;
    try {
      response = (await Promise.race([call, deadline])) as ChatCompletion;
    } catch (error) {
      if (timeout.aborted) throw new ExternalModerationError('judge timed out');
      throw error;
    } finally {
      call.catch(() => undefined);
    }
    const content = response.choices[0]?.message.content;
    return typeof content === 'string' ? content : '';
  }
}

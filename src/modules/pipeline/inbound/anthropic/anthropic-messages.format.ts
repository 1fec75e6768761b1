import { GatewayException } from 'src/common/errors/gateway.exception';
import { decodeAnthropicRequest } from 'src/modules/pipeline/inbound/anthropic/anthropic-request.decoder';
import {
  AnthropicStreamEncoder,
  encodeAnthropicMessage,
} from 'src/modules/pipeline/inbound/anthropic/anthropic-response.encoder';
import type { InboundFormat } from 'src/modules/pipeline/inbound/inbound-format';
import type { ChatCompletion, ChatRequest } from 'src/modules/providers/provider-adapter';

/** Anthropic's Messages API (`/v1/messages`, `/v1/messages/count_tokens`), served by any chat endpoint. */
export const ANTHROPIC_MESSAGES: InboundFormat = {
  decode(body, op, answer) {
    if (op !== 'chat')
      throw GatewayException.invalid('The Messages API serves chat endpoints only.', 'model');
    return decodeAnthropicRequest(body, answer);
  },
  encode: (response, _op, ctx) =>
    encodeAnthropicMessage(response as ChatCompletion, ctx.request as ChatRequest | undefined, ctx.requestId),
  streamEncoder: (ctx) => new AnthropicStreamEncoder(ctx.request as ChatRequest | undefined, ctx.requestId),
  tokenCount: (inputTokens) => ({ input_tokens: inputTokens }),
};

import { GatewayException } from 'src/common/errors/gateway.exception';
import type { InboundFormat } from 'src/modules/pipeline/inbound/inbound-format';
import { decodeResponsesRequest } from 'src/modules/pipeline/inbound/responses/responses-request.decoder';
import {
  ResponsesStreamEncoder,
  encodeResponse,
} from 'src/modules/pipeline/inbound/responses/responses-response.encoder';
import type { ChatCompletion, ChatRequest } from 'src/modules/providers/provider-adapter';

/** OpenAI's Responses API (`/v1/responses`), served by any chat endpoint. */
export const OPENAI_RESPONSES: InboundFormat = {
  decode(body, op) {
    if (op !== 'chat')
      throw GatewayException.invalid('The Responses API serves chat endpoints only.', 'model');
    const raw = body as Record<string, unknown> | null;
    if (raw && typeof raw === 'object' && raw.previous_response_id != null) {
      throw GatewayException.invalid(
        'previous_response_id is not supported: this gateway does not store responses; send the conversation in input.',
        'previous_response_id',
      );
    }
    return decodeResponsesRequest(body);
  },
  encode: (response, _op, ctx) =>
    encodeResponse(response as ChatCompletion, ctx.request as ChatRequest | undefined, ctx.requestId),
  streamEncoder: (ctx) => new ResponsesStreamEncoder(ctx.request as ChatRequest | undefined, ctx.requestId),
  tokenCount: (inputTokens) => ({ object: 'response.input_tokens', input_tokens: inputTokens }),
};

import { randomBytes } from 'node:crypto';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { isObject } from 'src/modules/pipeline/inbound/decode';
import type { InboundFormat } from 'src/modules/pipeline/inbound/inbound-format';
import { decodeResponsesRequest } from 'src/modules/pipeline/inbound/responses/responses-request.decoder';
import {
  ResponsesStreamEncoder,
  ResponseTurn,
  encodeResponse,
} from 'src/modules/pipeline/inbound/responses/responses-response.encoder';
import type { InvocationContext } from 'src/modules/pipeline/invocation-context';
import type { ChatCompletion, ChatRequest } from 'src/modules/providers/provider-adapter';

/** OpenAI's Responses API (`/v1/responses`), served by any chat endpoint. */
export const OPENAI_RESPONSES: InboundFormat = {
  decode(body, op) {
    if (op !== 'chat')
      throw GatewayException.invalid('The Responses API serves chat endpoints only.', 'model');
    // previous_response_id's turns are put in by the stored-responses stage, after validation.
    return decodeResponsesRequest(body);
  },
  encode(response, _op, ctx) {
    const out = encodeResponse(
      response as ChatCompletion,
      ctx.request as ChatRequest | undefined,
      ctx.requestId,
      turn(ctx),
    );
    ctx.answered?.(out);
    return out;
  },
  streamEncoder: (ctx) =>
    new ResponsesStreamEncoder(
      ctx.request as ChatRequest | undefined,
      ctx.requestId,
      turn(ctx),
      ctx.answered,
    ),
  tokenCount: (inputTokens) => ({ object: 'response.input_tokens', input_tokens: inputTokens }),
};

/** The request's own fields a response echoes (the decoder checked them), and a fresh OpenAI-style id. */
function turn(ctx: InvocationContext): ResponseTurn {
  const body = isObject(ctx.native) ? ctx.native : {};
  return {
    id: `resp_${randomBytes(24).toString('hex')}`,
    instructions:
      typeof body.instructions === 'string' && body.instructions !== '' ? body.instructions : null,
    previousResponseId: typeof body.previous_response_id === 'string' ? body.previous_response_id : null,
    // OpenAI stores responses unless told not to.
    store: body.store !== false,
    metadata: isObject(body.metadata) ? body.metadata : {},
  };
}

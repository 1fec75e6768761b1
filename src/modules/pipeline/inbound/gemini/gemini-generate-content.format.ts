import { GatewayException } from 'src/common/errors/gateway.exception';
import { decodeGeminiRequest } from 'src/modules/pipeline/inbound/gemini/gemini-request.decoder';
import {
  encodeGeminiResponse,
  GeminiStreamEncoder,
} from 'src/modules/pipeline/inbound/gemini/gemini-response.encoder';
import type { InboundFormat } from 'src/modules/pipeline/inbound/inbound-format';
import type { ChatCompletion } from 'src/modules/providers/provider-adapter';

/** Gemini's generateContent / streamGenerateContent (`/v1beta/models/{name}:…`), served by any chat endpoint. */
export const GEMINI_GENERATE_CONTENT: InboundFormat = {
  decode(body, op, answer, stream) {
    if (op !== 'chat') throw GatewayException.invalid('generateContent serves chat endpoints only.', 'model');
    return decodeGeminiRequest(body, answer, stream);
  },
  encode: (response, _op, ctx) => encodeGeminiResponse(response as ChatCompletion, ctx.requestId),
  streamEncoder: (ctx) => new GeminiStreamEncoder(ctx.query.alt, ctx.requestId),
  tokenCount: (inputTokens) => ({ totalTokens: inputTokens }),
};

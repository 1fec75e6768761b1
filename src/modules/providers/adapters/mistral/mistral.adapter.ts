import {
  AdapterRequestError,
  CanonicalChunk,
  CanonicalRequest,
  CanonicalResponse,
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  CompletionsRequest,
  Operation,
  SseEvent,
  StreamStep,
  StreamTranslator,
  TargetContext,
  TextCompletion,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { OpenAICompatibleAdapter } from 'src/modules/providers/adapters/openai-compatible/openai-compatible.adapter';
import { OpenAIWireConfig } from 'src/modules/providers/adapters/openai/openai-config';

/**
 * Mistral (https://docs.mistral.ai/api/): OpenAI's wire for chat and embeddings, with two differences a
 * user would notice through a plain OpenAI preset, handled here as MLflow's Mistral provider does:
 * there is no `/v1/completions` (completions go to chat/completions with the prompt as one user
 * message, temperature halved), and the API refuses OpenAI's `stream_options` (its last stream chunk
 * always carries usage). Mistral-only parameters (`safe_prompt`, `random_seed`, `prompt_mode`) pass through.
 */
export class MistralAdapter extends OpenAICompatibleAdapter {
  override readonly providers: readonly string[] = ['mistral'];
  override readonly displayName: string = 'Mistral';

  override buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<OpenAIWireConfig>,
    stream: boolean,
  ): UpstreamRequest {
    const asChat = op === 'completions' ? completionsAsChat(request as CompletionsRequest) : request;
    const upstream = super.buildRequest(op === 'completions' ? 'chat' : op, asChat, target, stream);
    const body = JSON.parse(upstream.body) as Record<string, unknown>;
    delete body.stream_options;
    return { ...upstream, body: JSON.stringify(body) };
  }

  override parseResponse(
    op: Operation,
    body: unknown,
    target: TargetContext<OpenAIWireConfig>,
  ): CanonicalResponse {
    if (op !== 'completions') return super.parseResponse(op, body, target);
    const chat = super.parseResponse('chat', body, target) as ChatCompletion;
    const completion: TextCompletion = {
      id: chat.id,
      object: 'text_completion',
      created: chat.created,
      model: chat.model,
      choices: chat.choices.map((choice) => ({
        index: choice.index,
        text: typeof choice.message?.content === 'string' ? choice.message.content : '',
        finish_reason: choice.finish_reason,
      })),
      usage: chat.usage ?? null,
    };
    return completion;
  }

  override createStreamTranslator(op: Operation, target: TargetContext<OpenAIWireConfig>): StreamTranslator {
    const chat = super.createStreamTranslator('chat', target);
    return op === 'completions' ? new CompletionsFromChatStream(chat) : chat;
  }
}

function completionsAsChat(request: CompletionsRequest): ChatRequest {
  const { prompt, ...rest } = request;
  const prompts = Array.isArray(prompt) ? prompt : [prompt];
  if (prompts.length !== 1 || typeof prompts[0] !== 'string') {
    throw new AdapterRequestError('Mistral completions take exactly one prompt string.', 400, 'prompt');
  }
  const chat: ChatRequest = { ...rest, messages: [{ role: 'user', content: prompts[0] }] };
  // MLflow scales completions' 0–2 temperature to Mistral's range by halving it.
  if (typeof request.temperature === 'number') chat.temperature = request.temperature / 2;
  return chat;
}

class CompletionsFromChatStream implements StreamTranslator {
  constructor(private readonly chat: StreamTranslator) {}

  get finished(): boolean {
    return this.chat.finished;
  }

  push(event: SseEvent): StreamStep {
    const step = this.chat.push(event);
    const chunks: CanonicalChunk[] = (step.chunks as ChatCompletionChunk[]).map((chunk) => {
      const out: TextCompletion = {
        id: chunk.id,
        object: 'text_completion',
        created: chunk.created,
        model: chunk.model,
        choices: chunk.choices.map((choice) => ({
          index: choice.index,
          text: typeof choice.delta.content === 'string' ? choice.delta.content : '',
          finish_reason: choice.finish_reason,
        })),
      };
      if (chunk.usage) out.usage = chunk.usage;
      return out;
    });
    return { ...step, chunks };
  }
}

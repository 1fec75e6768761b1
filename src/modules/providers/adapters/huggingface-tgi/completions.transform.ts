import {
  AdapterRequestError,
  CompletionsRequest,
  SseEvent,
  StreamStep,
  StreamTranslator,
  TextCompletion,
  UpstreamProtocolError,
  Usage,
} from 'src/modules/providers/provider-adapter';

/** TGI `details.finish_reason` → OpenAI `finish_reason`. */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  length: 'length',
  eos_token: 'stop',
  stop_sequence: 'stop',
};

export function toFinishReason(reason: unknown): string | null {
  if (typeof reason !== 'string') return null;
  return Object.hasOwn(FINISH_REASONS, reason) ? FINISH_REASONS[reason] : 'stop';
}

/** Parameters the OpenAI surface shares with TGI's `parameters` object under the same name. */
const SAME_NAME = [
  'top_p',
  'top_k',
  'seed',
  'repetition_penalty',
  'frequency_penalty',
  'typical_p',
  'truncate',
  'do_sample',
  'watermark',
  'best_of',
  'grammar',
  'return_full_text',
  'top_n_tokens',
] as const;

/**
 * OpenAI completions request → TGI `/generate` body `{inputs, parameters}`, with MLflow's rules:
 * `max_tokens` becomes `max_new_tokens`, `n` must be 1, temperature is scaled from 0–2 to TGI's
 * 0–100 (×50, never 0), and details are asked for so usage can be reported.
 */
export function toGenerateBody(request: CompletionsRequest, stream: boolean): Record<string, unknown> {
  if (request.max_new_tokens !== undefined) {
    throw new AdapterRequestError(
      'Invalid parameter max_new_tokens. Use max_tokens instead.',
      422,
      'max_new_tokens',
    );
  }
  const n = request.n ?? 1;
  if (n !== 1) {
    throw new AdapterRequestError(
      `'n' must be '1' for the Text Generation Inference provider.Received value: '${String(n)}'.`,
      422,
      'n',
    );
  }
  const prompts = Array.isArray(request.prompt) ? request.prompt : [request.prompt];
  if (prompts.length !== 1 || typeof prompts[0] !== 'string') {
    throw new AdapterRequestError(
      'Text Generation Inference takes exactly one prompt string.',
      400,
      'prompt',
    );
  }
  const parameters: Record<string, unknown> = {};
  for (const key of SAME_NAME) {
    if (request[key] !== undefined && request[key] !== null) parameters[key] = request[key];
  }
  if (typeof request.max_tokens === 'number') parameters.max_new_tokens = request.max_tokens;
  if (typeof request.temperature === 'number')
    parameters.temperature = Math.max(request.temperature * 50, 1e-3);
  if (request.stop !== undefined && request.stop !== null) {
    parameters.stop = Array.isArray(request.stop) ? request.stop : [request.stop];
  }
  parameters.details = true;
  // TGI refuses prefill details on a stream ("not supported when streaming tokens").
  if (!stream) parameters.decoder_input_details = true;
  return { inputs: prompts[0], parameters };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function usageOf(details: Record<string, unknown>, withPrompt: boolean): Usage {
  const completion = typeof details.generated_tokens === 'number' ? details.generated_tokens : null;
  const prompt = withPrompt && Array.isArray(details.prefill) ? details.prefill.length : null;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt !== null && completion !== null ? prompt + completion : null,
  };
}

/** TGI `/generate` response → OpenAI text completion; prompt tokens are the prefill tokens, as MLflow counts. */
export function toTextCompletion(body: unknown, model: string): TextCompletion {
  // `/generate` answers an object; TGI's compat route `/` answers a one-element list.
  const response = Array.isArray(body) && body.length === 1 ? (body[0] as unknown) : body;
  if (!isRecord(response) || typeof response.generated_text !== 'string') {
    throw new UpstreamProtocolError('Text Generation Inference returned no generated_text');
  }
  const details = isRecord(response.details) ? response.details : {};
  return {
    id: '',
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      { index: 0, text: response.generated_text, finish_reason: toFinishReason(details.finish_reason) },
    ],
    usage: usageOf(details, true),
  };
}

/**
 * TGI `/generate_stream` events (`data: {"index","token":{text,special},"generated_text","details"}`)
 * → `text_completion` chunks. The last event carries `generated_text` and `details`; TGI has no
 * end marker beyond that, so it finishes the stream.
 */
export class TgiStreamTranslator implements StreamTranslator {
  private isFinished = false;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly model: string) {}

  get finished(): boolean {
    return this.isFinished;
  }

  push(event: SseEvent): StreamStep {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return { chunks: [], error: { message: 'malformed upstream stream event' } };
    }
    if (!isRecord(data)) return { chunks: [], error: { message: 'malformed upstream stream event' } };
    if (typeof data.error === 'string') {
      const error =
        typeof data.error_type === 'string'
          ? { message: data.error, type: data.error_type }
          : { message: data.error };
      return { chunks: [], error };
    }
    const token = isRecord(data.token) ? data.token : undefined;
    if (token === undefined) return { chunks: [], error: { message: 'malformed upstream stream event' } };
    // Special tokens (`</s>`, `<|eot_id|>`) are control markers, not text.
    const text = token.special === true || typeof token.text !== 'string' ? '' : token.text;
    const details = isRecord(data.details) ? data.details : undefined;
    if (details === undefined) {
      return { chunks: text === '' ? [] : [this.chunk(text, null)] };
    }
    this.isFinished = true;
    const usage: TextCompletion = {
      id: '',
      object: 'text_completion',
      created: this.created,
      model: this.model,
      choices: [],
      usage: usageOf(details, false),
    };
    return { chunks: [this.chunk(text, toFinishReason(details.finish_reason) ?? 'stop'), usage], done: true };
  }

  private chunk(text: string, finishReason: string | null): TextCompletion {
    return {
      id: '',
      object: 'text_completion',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, text, finish_reason: finishReason }],
    };
  }
}

import {
  AdapterCapabilities,
  CanonicalRequest,
  CanonicalResponse,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  CompletionsRequest,
  Embeddings,
  EmbeddingsRequest,
  JsonObject,
  Operation,
  ProviderAdapter,
  ProviderConfigError,
  StreamTranslator,
  TargetContext,
  TextCompletion,
  UpstreamErrorInfo,
  UpstreamProtocolError,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';

export interface MlflowServingConfig {
  /** Base URL of the scoring server (`mlflow models serve`); requests go to `<url>/invocations`. */
  modelServerUrl: string;
}

/** Keys of the canonical request that describe the call, not the model's params. */
const NOT_PARAMS = new Set(['model', 'stream', 'stream_options']);

/**
 * MLflow's `mlflow-model-serving` provider (mlflow/gateway/providers/mlflow.py): the OpenAI-shaped
 * request becomes `{"inputs": [...], "params": {...}}` for a pyfunc scoring server, and its
 * `predictions` become choices or embeddings. One deliberate improvement: a chat with several
 * messages is sent as MLflow's unified chat payload (`{"messages": [...], ...params}`, which
 * scoring servers pass to chat models as-is) instead of failing with 422.
 */
export class MlflowModelServingAdapter implements ProviderAdapter<MlflowServingConfig> {
  readonly providers: readonly string[] = ['mlflow-model-serving'];
  readonly displayName: string = 'MLflow Model Serving';
  readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: false,
    completions: true,
    completionsStream: false,
    embeddings: true,
  };

  parseConfig(raw: JsonObject): MlflowServingConfig {
    const url = raw.model_server_url;
    if (typeof url !== 'string' || url === '') {
      throw new ProviderConfigError(
        "'model_server_url' is required: the base URL of the MLflow scoring server (e.g. http://127.0.0.1:5000).",
      );
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ProviderConfigError(`'model_server_url' is not a valid URL: '${url.slice(0, 200)}'.`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ProviderConfigError("'model_server_url' must be an http:// or https:// URL.");
    }
    return { modelServerUrl: url.replace(/\/+$/, '') };
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<MlflowServingConfig>,
  ): UpstreamRequest {
    return {
      url: `${target.config.modelServerUrl}/invocations`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(this.payload(op, request)),
    };
  }

  private payload(op: Operation, request: CanonicalRequest): JsonObject {
    if (op === 'embeddings') return withParams((request as EmbeddingsRequest).input, request, 'input', false);
    if (op === 'completions')
      return withParams((request as CompletionsRequest).prompt, request, 'prompt', true);
    const messages = (request as ChatRequest).messages;
    if (messages.length === 1) return withParams(textOf(messages[0]), request, 'messages', true);
    // Unified chat payload: the scoring server hands `messages` and the params to the model unchanged.
    return { messages, ...params(request, 'messages', true) };
  }

  parseResponse(op: Operation, body: unknown, target: TargetContext<MlflowServingConfig>): CanonicalResponse {
    const model = target.modelName ?? target.endpointName;
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: null, completion_tokens: null, total_tokens: null };
    if (op === 'embeddings') {
      const embeddings: Embeddings = {
        object: 'list',
        data: embeddingsOf(body).map((embedding, index) => ({ object: 'embedding', embedding, index })),
        model,
        usage: { prompt_tokens: null, total_tokens: null },
      };
      return embeddings;
    }
    if (op === 'chat' && isUnifiedChat(body)) return unifiedChat(body, model, created);
    const texts = textPredictions(body);
    // MLflow's own responses carry no id (null) and no finish reason.
    const id = null as unknown as string;
    if (op === 'completions') {
      const completion: TextCompletion = {
        id,
        object: 'text_completion',
        created,
        model,
        choices: texts.map((text, index) => ({ index, text, finish_reason: null })),
        usage,
      };
      return completion;
    }
    const chat: ChatCompletion = {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: texts.map((content, index) => ({
        index,
        message: { role: 'assistant', content },
        finish_reason: null,
      })),
      usage,
    };
    return chat;
  }

  createStreamTranslator(): StreamTranslator {
    // capabilities declare no streaming: the routing layer answers 501 before calling this.
    throw new UpstreamProtocolError('streaming is not supported by MLflow model serving');
  }

  parseError(status: number, body: unknown): UpstreamErrorInfo {
    if (isObject(body) && typeof body.message === 'string') {
      return {
        message: body.message,
        ...(typeof body.error_code === 'string' ? { code: body.error_code } : {}),
      };
    }
    if (isObject(body)) return { message: JSON.stringify(body).slice(0, 1000) };
    return { message: `The scoring server returned HTTP ${status}.` };
  }
}

/** MLflow's `_process_payload`: the input under `inputs` (as a list), every other set field under `params`. */
function withParams(
  input: unknown,
  request: CanonicalRequest,
  key: string,
  llmDefaults: boolean,
): JsonObject {
  const rest = params(request, key, llmDefaults);
  const payload: JsonObject = { inputs: Array.isArray(input) ? input : [input] };
  if (Object.keys(rest).length > 0) payload.params = rest;
  return payload;
}

/** Request fields other than the input; `temperature` 0.0 and `n` 1 are MLflow's schema defaults. */
function params(request: CanonicalRequest, key: string, llmDefaults: boolean): JsonObject {
  const result: JsonObject = llmDefaults ? { temperature: 0.0, n: 1 } : {};
  for (const [name, value] of Object.entries(request)) {
    if (name === key || NOT_PARAMS.has(name) || value === null || value === undefined) continue;
    result[name] = value;
  }
  return result;
}

function textOf(message: ChatMessage): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
      .join('');
  }
  return '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A unified-payload answer: the model's own OpenAI-style chat completion, not wrapped in `predictions`. */
function isUnifiedChat(body: unknown): body is Record<string, unknown> & { choices: unknown[] } {
  return isObject(body) && !('predictions' in body) && Array.isArray(body.choices);
}

function unifiedChat(
  body: Record<string, unknown> & { choices: unknown[] },
  model: string,
  created: number,
): ChatCompletion {
  const choices = body.choices.map((choice, index) => {
    if (!isObject(choice) || !isObject(choice.message) || typeof choice.message.role !== 'string') {
      throw new UpstreamProtocolError('chat choices must carry a message with a role');
    }
    const content = choice.message.content;
    return {
      index: typeof choice.index === 'number' ? choice.index : index,
      message: { role: choice.message.role, content: typeof content === 'string' ? content : null },
      finish_reason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
    };
  });
  const usage = isObject(body.usage) ? body.usage : {};
  const count = (key: string) => (typeof usage[key] === 'number' ? usage[key] : null);
  return {
    id: (typeof body.id === 'string' ? body.id : null) as string,
    object: 'chat.completion',
    created: typeof body.created === 'number' ? body.created : created,
    model,
    choices,
    usage: {
      prompt_tokens: count('prompt_tokens'),
      completion_tokens: count('completion_tokens'),
      total_tokens: count('total_tokens'),
    },
  };
}

/** MLflow's ServingTextResponse: a non-empty list of strings, or a dict with one key / a `choices` key. */
function textPredictions(body: unknown): string[] {
  if (!isObject(body) || !('predictions' in body)) {
    throw new UpstreamProtocolError('the scoring server response is missing the required key: predictions');
  }
  let predictions = body.predictions;
  if (isObject(predictions)) {
    const keys = Object.keys(predictions);
    if (!keys.includes('choices') && keys.length > 1) {
      throw new UpstreamProtocolError(
        "the dict format is invalid for this route type; the served model must return a dict key containing 'choices'",
      );
    }
    predictions = keys.length === 1 ? predictions[keys[0]] : predictions.choices;
  }
  if (!Array.isArray(predictions) || predictions.length === 0) {
    throw new UpstreamProtocolError('the scoring server returned no predictions');
  }
  if (!predictions.every((p): p is string => typeof p === 'string')) {
    throw new UpstreamProtocolError('predictions must be strings for this route type');
  }
  return predictions;
}

/** MLflow's EmbeddingsResponse: list of float lists; a flat float list is one embedding. */
function embeddingsOf(body: unknown): number[][] {
  if (!isObject(body) || !Array.isArray(body.predictions)) {
    throw new UpstreamProtocolError('the scoring server response is missing the required key: predictions');
  }
  const predictions: unknown[] = body.predictions;
  if (predictions.length === 0) throw new UpstreamProtocolError('the scoring server returned no embeddings');
  if (predictions.every((p) => typeof p === 'number')) return [predictions];
  const valid = predictions.every(
    (p) => Array.isArray(p) && p.length > 0 && p.every((v) => typeof v === 'number'),
  );
  if (!valid) throw new UpstreamProtocolError('embeddings must be non-empty lists of numbers');
  return predictions as number[][];
}

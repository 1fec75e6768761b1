import {
  AdapterCapabilities,
  AdapterRequestError,
  CanonicalRequest,
  CanonicalResponse,
  ChatCompletion,
  JsonObject,
  Operation,
  ProviderAdapter,
  SseEvent,
  StreamStep,
  StreamTranslator,
  TargetContext,
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { fromUpstreamBody } from 'src/modules/providers/adapters/openai/chat-completions.transform';
import { OpenAIStreamTranslator } from 'src/modules/providers/adapters/openai/chat-completions-stream.transform';
import { errorInfoFromBody } from 'src/modules/providers/adapters/openai/openai-error';
import {
  DatabricksConfig,
  parseDatabricksConfig,
} from 'src/modules/providers/adapters/databricks/databricks-config';

/**
 * Databricks Model Serving (https://docs.databricks.com/api/workspace/servingendpoints/query):
 * `POST {workspace}/serving-endpoints/{model.name}/invocations` with a bearer token and OpenAI-shaped
 * chat, completions and embeddings bodies (the endpoint is named by the path, so no `model` key).
 * Errors come as `{"error_code", "message"}`; reasoning models answer content as a list of parts.
 */
export class DatabricksAdapter implements ProviderAdapter<DatabricksConfig> {
  readonly providers = ['databricks', 'databricks-model-serving'] as const;
  readonly displayName = 'Databricks';
  readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: true,
    completions: true,
    completionsStream: true,
    embeddings: true,
  };

  parseConfig(raw: JsonObject, provider: string, _modelName: string | undefined): DatabricksConfig {
    return parseDatabricksConfig(raw, provider);
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<DatabricksConfig>,
    stream: boolean,
  ): UpstreamRequest {
    const endpoint = target.modelName;
    if (endpoint === undefined || endpoint === '') {
      throw new AdapterRequestError(
        'The Databricks provider needs model.name (the serving endpoint) in the endpoint configuration.',
        400,
      );
    }
    const body: Record<string, unknown> = { ...request };
    delete body.model;
    // Serving endpoints answer floats; the gateway encodes them itself when base64 was asked for.
    delete body.encoding_format;
    if (op === 'embeddings' || !stream) {
      delete body.stream;
      delete body.stream_options;
    } else {
      body.stream = true;
    }
    return {
      url: `${target.config.workspaceUrl}/serving-endpoints/${encodeURIComponent(endpoint)}/invocations`,
      method: 'POST',
      headers: { authorization: `Bearer ${target.config.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    };
  }

  parseResponse(op: Operation, body: unknown, _target: TargetContext<DatabricksConfig>): CanonicalResponse {
    const response = fromUpstreamBody(op, body);
    if (op === 'chat') {
      for (const choice of (response as ChatCompletion).choices) {
        if (choice.message) choice.message.content = textOf(choice.message.content);
      }
    }
    return response;
  }

  createStreamTranslator(_op: Operation, _target: TargetContext<DatabricksConfig>): StreamTranslator {
    return new DatabricksStreamTranslator();
  }

  parseError(status: number, body: unknown): UpstreamErrorInfo {
    if (typeof body === 'object' && body !== null) {
      const record = body as Record<string, unknown>;
      if (typeof record.message === 'string' && typeof record.error_code === 'string') {
        return { message: record.message, code: record.error_code };
      }
    }
    // External-model endpoints relay the provider's OpenAI-style envelope.
    const info = errorInfoFromBody(status, body);
    return info.message === `upstream returned HTTP ${status}`
      ? { message: `Databricks returned HTTP ${status}` }
      : info;
  }
}

/**
 * Reasoning models answer `content` as parts (`reasoning`, `text`); OpenAI clients expect a string, so
 * the text parts are joined and the rest dropped, as MLflow's Databricks adapter does.
 */
function textOf(content: unknown): string | null {
  if (!Array.isArray(content)) return typeof content === 'string' ? content : null;
  const texts = content
    .filter((part): part is { type: 'text'; text: string } => {
      const p = part as { type?: unknown; text?: unknown } | null;
      return p !== null && p.type === 'text' && typeof p.text === 'string';
    })
    .map((part) => part.text);
  return texts.length > 0 ? texts.join('\n') : null;
}

class DatabricksStreamTranslator implements StreamTranslator {
  private readonly inner = new OpenAIStreamTranslator();

  get finished(): boolean {
    return this.inner.finished;
  }

  push(event: SseEvent): StreamStep {
    const step = this.inner.push(event);
    for (const chunk of step.chunks) {
      if (chunk.object !== 'chat.completion.chunk') continue;
      for (const choice of chunk.choices) {
        if (Array.isArray(choice.delta.content)) choice.delta.content = textOf(choice.delta.content) ?? '';
      }
    }
    return step;
  }
}

import { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** OpenAPI descriptions of the public bodies. Validation itself lives in request-validation.ts. */
const message: SchemaObject = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
    content: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }], nullable: true },
    tool_calls: { type: 'array', items: { type: 'object' } },
    tool_call_id: { type: 'string' },
  },
};

const sampling: Record<string, SchemaObject> = {
  temperature: { type: 'number', minimum: 0, maximum: 2 },
  top_p: { type: 'number', minimum: 0, maximum: 1 },
  max_tokens: { type: 'integer', minimum: 1 },
  n: { type: 'integer', minimum: 1, maximum: 128 },
  stop: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 16 }] },
  stream: { type: 'boolean' },
  stream_options: { type: 'object', properties: { include_usage: { type: 'boolean' } } },
  presence_penalty: { type: 'number', minimum: -2, maximum: 2 },
  frequency_penalty: { type: 'number', minimum: -2, maximum: 2 },
};

export const CHAT_REQUEST: SchemaObject = {
  type: 'object',
  required: ['messages'],
  additionalProperties: true,
  properties: {
    model: { type: 'string', description: 'Name of a Gatehouse endpoint or traffic route.' },
    messages: { type: 'array', minItems: 1, items: message },
    tools: { type: 'array', items: { type: 'object' } },
    tool_choice: {},
    max_completion_tokens: { type: 'integer', minimum: 1 },
    ...sampling,
  },
};

export const COMPLETIONS_REQUEST: SchemaObject = {
  type: 'object',
  required: ['prompt'],
  additionalProperties: true,
  properties: {
    model: { type: 'string' },
    prompt: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    ...sampling,
  },
};

export const EMBEDDINGS_REQUEST: SchemaObject = {
  type: 'object',
  required: ['input'],
  properties: {
    model: { type: 'string' },
    input: { oneOf: [{ type: 'string' }, { type: 'array', items: {} }] },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
  },
};

export const INVOCATION_REQUEST: SchemaObject = {
  description:
    'MLflow unified schema: a chat (`messages`), completions (`prompt`) or embeddings (`input`) body, by endpoint type.',
  oneOf: [CHAT_REQUEST, COMPLETIONS_REQUEST, EMBEDDINGS_REQUEST],
};

export const CHAT_RESPONSE: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', example: 'chat.completion' },
    created: { type: 'integer' },
    model: { type: 'string' },
    choices: { type: 'array', items: { type: 'object' } },
    usage: { type: 'object' },
  },
};

export const COMPLETIONS_RESPONSE: SchemaObject = {
  ...CHAT_RESPONSE,
  properties: { ...CHAT_RESPONSE.properties, object: { type: 'string', example: 'text_completion' } },
};

export const EMBEDDINGS_RESPONSE: SchemaObject = {
  type: 'object',
  properties: {
    object: { type: 'string', example: 'list' },
    data: { type: 'array', items: { type: 'object' } },
    model: { type: 'string' },
    usage: { type: 'object' },
  },
};

export const OPENAI_ERROR: SchemaObject = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        message: { type: 'string' },
        type: { type: 'string' },
        param: { type: 'string', nullable: true },
        code: { type: 'string' },
      },
    },
  },
};

export const MLFLOW_ERROR: SchemaObject = { type: 'object', properties: { detail: {} } };

export const MLFLOW_ENDPOINT: SchemaObject = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    endpoint_type: { type: 'string', enum: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'] },
    model: {
      type: 'object',
      properties: { name: { type: 'string', nullable: true }, provider: { type: 'string' } },
    },
    endpoint_url: { type: 'string' },
    limit: { type: 'object', nullable: true },
  },
};

export const ANTHROPIC_MESSAGES_REQUEST: SchemaObject = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', description: 'A chat endpoint or traffic route of the gateway' },
    max_tokens: { type: 'integer', minimum: 1, description: 'Required, except for count_tokens' },
    system: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }] },
    messages: { type: 'array', items: { type: 'object' } },
    tools: { type: 'array', items: { type: 'object' } },
    tool_choice: { type: 'object' },
    temperature: { type: 'number', minimum: 0, maximum: 1 },
    top_p: { type: 'number' },
    top_k: { type: 'integer' },
    stop_sequences: { type: 'array', items: { type: 'string' } },
    stream: { type: 'boolean' },
    metadata: { type: 'object' },
  },
};

export const ANTHROPIC_MESSAGE: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string', enum: ['message'] },
    role: { type: 'string', enum: ['assistant'] },
    model: { type: 'string' },
    content: { type: 'array', items: { type: 'object' } },
    stop_reason: { type: 'string', nullable: true },
    stop_sequence: { type: 'string', nullable: true },
    usage: {
      type: 'object',
      properties: { input_tokens: { type: 'integer' }, output_tokens: { type: 'integer' } },
    },
  },
};

export const ANTHROPIC_COUNT_TOKENS_RESPONSE: SchemaObject = {
  type: 'object',
  properties: { input_tokens: { type: 'integer' } },
};

export const ANTHROPIC_ERROR: SchemaObject = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['error'] },
    error: {
      type: 'object',
      properties: { type: { type: 'string' }, message: { type: 'string' } },
    },
    request_id: { type: 'string' },
  },
};

export const GEMINI_GENERATE_CONTENT_REQUEST: SchemaObject = {
  type: 'object',
  required: ['contents'],
  properties: {
    contents: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          role: { type: 'string', enum: ['user', 'model'] },
          parts: { type: 'array', items: {} },
        },
      },
    },
    systemInstruction: { type: 'object' },
    tools: { type: 'array', items: { type: 'object' } },
    toolConfig: { type: 'object' },
    generationConfig: { type: 'object' },
  },
};

export const GEMINI_GENERATE_CONTENT_RESPONSE: SchemaObject = {
  type: 'object',
  properties: {
    candidates: { type: 'array', items: { type: 'object' } },
    usageMetadata: {
      type: 'object',
      properties: {
        promptTokenCount: { type: 'integer' },
        candidatesTokenCount: { type: 'integer' },
        totalTokenCount: { type: 'integer' },
      },
    },
    modelVersion: { type: 'string' },
    responseId: { type: 'string' },
  },
};

export const GEMINI_ERROR: SchemaObject = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'integer' }, message: { type: 'string' }, status: { type: 'string' } },
    },
  },
};

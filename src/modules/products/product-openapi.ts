import { ProductDto } from 'src/modules/products/dto/products.dto';

const OPENAI_PATHS: Record<string, { path: string; summary: string; example: Record<string, unknown> }> = {
  'llm/v1/chat': {
    path: '/v1/chat/completions',
    summary: 'Chat completion (OpenAI wire format)',
    example: { messages: [{ role: 'user', content: 'Hello!' }] },
  },
  'llm/v1/completions': {
    path: '/v1/completions',
    summary: 'Text completion (OpenAI wire format)',
    example: { prompt: 'Hello' },
  },
  'llm/v1/embeddings': {
    path: '/v1/embeddings',
    summary: 'Embeddings (OpenAI wire format)',
    example: { input: 'Hello' },
  },
};

/**
 * The OpenAPI 3.0 document of one product alone: the OpenAI-compatible operation of its endpoint type
 * with the product's endpoint as `model`, and the MLflow invocations path, both with bearer auth.
 */
export function productOpenApi(product: ProductDto, serverUrl: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const openai = OPENAI_PATHS[product.endpointType];
  const responses = {
    '200': { description: 'The answer of the model' },
    '401': { description: 'Missing or invalid credentials' },
    '403': { description: 'No subscription grants access to this product' },
    '410': { description: 'The product has been retired' },
    '429': { description: 'A rate limit or quota was reached' },
  };
  if (openai) {
    paths[openai.path] = {
      post: {
        operationId: `${camel(product.name)}OpenAI`,
        summary: openai.summary,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['model'],
                additionalProperties: true,
                properties: { model: { type: 'string', enum: [product.endpoint] } },
              },
              example: { model: product.endpoint, ...openai.example },
            },
          },
        },
        responses,
      },
    };
  }
  paths[`/endpoints/${encodeURIComponent(product.endpoint)}/invocations`] = {
    post: {
      operationId: `${camel(product.name)}Invocations`,
      summary: 'MLflow deployments client invocation',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { type: 'object', additionalProperties: true },
            example: openai?.example ?? { inputs: [[1, 2, 3]] },
          },
        },
      },
      responses,
    },
  };
  return {
    openapi: '3.0.3',
    info: {
      title: product.title,
      version: String(product.revision),
      description: product.description,
      ...(product.state === 'deprecated' ? { 'x-sunset': product.sunsetAt } : {}),
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
    'x-gatehouse-product': {
      state: product.state,
      limits: product.limits,
      pricePer1kTokensUsd: product.pricePer1kTokensUsd,
    },
  };
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';

const options = { env: {}, knownProviders: new Set(['openai']), baseDir: '/tmp' };

function problems(text: string): string[] {
  try {
    parseGatewayConfig(text, options);
  } catch (error) {
    if (error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('ml/v1/predict endpoints in gateway.yaml (Gatehouse extension)', () => {
  it('reads registry references, custom paths, URL templates and timeouts apart from the LLM endpoints', () => {
    const config = parseGatewayConfig(
      `
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: { provider: openai, name: gpt-4o, config: { openai_api_key: sk-x } }
  - name: churn
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn@champion" }
    limit: { calls: 10, renewal_period: minute }
    gatehouse:
      path: /predict/churn
      serving_url_template: "http://churn-{version}.models.svc:8080"
      timeout_ms: 2500
`,
      options,
    );
    expect(config.endpoints.map((e) => e.name)).toEqual(['chat']);
    expect(config.modelEndpoints).toEqual([
      {
        name: 'churn',
        modelUri: 'models:/churn@champion',
        reference: { name: 'churn', kind: 'alias', alias: 'champion' },
        limit: { calls: 10, renewal_period: 'minute', key: null },
        path: '/predict/churn',
        servingUrlTemplate: 'http://churn-{version}.models.svc:8080',
        timeoutMs: 2500,
      },
    ]);
  });

  it('reads gatehouse.batch, and names a bad one', () => {
    const config = parseGatewayConfig(
      `
endpoints:
  - name: churn
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn@champion" }
    gatehouse: { batch: { max_rows_per_call: 100, concurrency: 8 } }
`,
      options,
    );
    expect(config.modelEndpoints?.[0].batch).toEqual({ maxRowsPerCall: 100, concurrency: 8 });
    expect(
      problems(`
endpoints:
  - name: churn
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn@champion" }
    gatehouse: { batch: { concurrency: 8 } }
`),
    ).toEqual([
      "endpoints[0] (churn): 'gatehouse.batch.max_rows_per_call' must be a positive integer (rows per scoring call).",
    ]);
  });

  it('lists every problem of a predict endpoint', () => {
    expect(
      problems(`
endpoints:
  - name: a
    endpoint_type: ml/v1/predict
    model: { provider: openai, name: "runs:/x/model" }
    gatehouse: { path: /v1/chat/completions, serving_url_template: "ftp://x", timeout_ms: -1 }
  - name: a
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/m/1" }
`),
    ).toEqual([
      "endpoints[0] (a): 'model.provider' of an ml/v1/predict endpoint must be 'mlflow-model-registry'.",
      "endpoints[0] (a): model.name: 'runs:/x/model' is not a registry model URI (expected models:/<name>@<alias>, models:/<name>/<version> or models:/<name>/<stage>).",
      "endpoints[0] (a): 'gatehouse.path' must be a path under /predict/ made of letters, digits, '-', '_' and '.', got /v1/chat/completions.",
      "endpoints[0] (a): 'gatehouse.serving_url_template' must be an http(s) URL template using {name} and {version}.",
      "endpoints[0] (a): 'gatehouse.timeout_ms' must be a positive integer (milliseconds).",
      expect.stringContaining('endpoints[1] (a): Duplicate names found'),
    ]);
  });
});

import { ProviderConfigError } from 'src/modules/providers/provider-adapter';
import { parseDatabricksConfig } from 'src/modules/providers/adapters/databricks/databricks-config';

describe('parseDatabricksConfig', () => {
  it("reads MLflow's host/token and strips /serving-endpoints", () => {
    expect(
      parseDatabricksConfig(
        { host: 'https://x.cloud.databricks.com/serving-endpoints/', token: 't' },
        'databricks',
      ),
    ).toEqual({
      workspaceUrl: 'https://x.cloud.databricks.com',
      token: 't',
    });
  });

  it('accepts databricks_workspace_url / databricks_api_token and the older databricks_api_base', () => {
    expect(
      parseDatabricksConfig(
        { databricks_workspace_url: 'https://w.example', databricks_api_token: 't' },
        'databricks',
      ),
    ).toEqual({ workspaceUrl: 'https://w.example', token: 't' });
    expect(
      parseDatabricksConfig({ databricks_api_base: 'https://b.example/', token: 't' }, 'databricks')
        .workspaceUrl,
    ).toBe('https://b.example');
  });

  it('requires a host and a token, and refuses OAuth M2M credentials with a clear message', () => {
    expect(() => parseDatabricksConfig({ token: 't' }, 'databricks')).toThrow(
      "'host' (the workspace URL) is required in model.config for provider 'databricks'.",
    );
    expect(() => parseDatabricksConfig({ host: 'https://w.example' }, 'databricks')).toThrow(
      "'token' is required in model.config for provider 'databricks'.",
    );
    expect(() =>
      parseDatabricksConfig({ host: 'https://w.example', client_id: 'a', client_secret: 'b' }, 'databricks'),
    ).toThrow(ProviderConfigError);
    expect(() => parseDatabricksConfig({ host: 'not a url', token: 't' }, 'databricks')).toThrow(
      "'host' must be an absolute http(s) URL.",
    );
  });
});

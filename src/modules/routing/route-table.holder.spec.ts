import { NO_MODERATION } from 'src/modules/routing/route-extension.registry';
import { ModelEndpointEntry } from 'src/modules/routing/model-endpoint.entry';
import { DEFAULT_PREDICT_BALANCING, ModelDeclaration, RouteTable } from 'src/modules/routing/route-table';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';

function entry(name: string, version: string, path?: string): ModelEndpointEntry {
  return {
    kind: 'model',
    name,
    endpointType: 'ml/v1/predict',
    provider: 'mlflow-model-registry',
    modelUri: `models:/${name}@champion`,
    registeredModel: name,
    origin: 'config',
    limit: null,
    path,
    timeoutMs: 1000,
    target: { version, url: `http://score-${version}` },
    unavailable: undefined,
    key: `${name}@${version}`,
    balancing: DEFAULT_PREDICT_BALANCING,
  };
}

const declaration: ModelDeclaration = {
  name: 'churn',
  modelUri: 'models:/churn@champion',
  reference: { name: 'churn', kind: 'alias', alias: 'champion' },
  limit: null,
  path: '/predict/churn',
  servingUrlTemplate: undefined,
  timeoutMs: undefined,
};

describe('RouteTableHolder with registry-backed predict endpoints', () => {
  it('merges resolved predict endpoints into each new table and swaps whole snapshots', () => {
    const holder = new RouteTableHolder();
    let version = '1';
    holder.setModelResolver((table) =>
      table.modelDeclarations.map((d) => entry(d.name, version, d.path ?? undefined)),
    );
    holder.swap(new RouteTable([], [], 'rev-1', NO_MODERATION, [], [declaration]));
    const first = holder.current;
    expect(first.revision).toBe('rev-1');
    expect(first.getModel('churn')?.target?.version).toBe('1');
    expect(first.getModelByPath('/predict/churn')?.name).toBe('churn');

    version = '2';
    holder.recompose();
    // A reader holding the old snapshot keeps seeing version 1 (in-flight requests finish there).
    expect(first.getModel('churn')?.target?.version).toBe('1');
    expect(holder.current.getModel('churn')?.target?.version).toBe('2');
    expect(holder.current.modelDeclarations).toEqual([declaration]);

    // A config reload without the declaration drops the endpoint.
    holder.swap(new RouteTable([], [], 'rev-2'));
    expect(holder.current.getModel('churn')).toBeUndefined();
    expect(holder.current.models).toEqual([]);
  });
});

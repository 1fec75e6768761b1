import { ModelReference } from 'src/config/gateway-config.types';

/** MLflow's stage names (matched case-insensitively, as MLflow does). */
export const MODEL_STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;

/**
 * Parses a registry model URI the way MLflow's `models:/` resolver reads it: `@` introduces an alias,
 * a numeric last segment is a version, a stage name is a stage. Returns a reason when it is not one.
 */
export function parseModelUri(uri: string): ModelReference | string {
  if (!uri.startsWith('models:/'))
    return `'${uri}' is not a registry model URI (expected models:/<name>@<alias>, models:/<name>/<version> or models:/<name>/<stage>).`;
  const rest = uri.slice('models:/'.length);
  const at = rest.lastIndexOf('@');
  if (at > 0) {
    const name = rest.slice(0, at);
    const alias = rest.slice(at + 1);
    if (!alias || name.includes('/')) return `'${uri}' has an empty alias or a malformed model name.`;
    return { name, kind: 'alias', alias };
  }
  const slash = rest.lastIndexOf('/');
  if (slash <= 0 || slash === rest.length - 1) {
    return `'${uri}' must name a version, a stage or an alias (models:/<name>/<version>, models:/<name>/<stage>, models:/<name>@<alias>).`;
  }
  const name = rest.slice(0, slash);
  const suffix = rest.slice(slash + 1);
  if (/^[0-9]+$/.test(suffix)) return { name, kind: 'version', version: String(Number(suffix)) };
  const stage = MODEL_STAGES.find((s) => s.toLowerCase() === suffix.toLowerCase());
  if (stage) return { name, kind: 'stage', stage };
  return `'${uri}': '${suffix}' is neither a version number nor a stage (${MODEL_STAGES.join(', ')}).`;
}

export function formatModelReference(reference: ModelReference): string {
  if (reference.kind === 'alias') return `models:/${reference.name}@${reference.alias}`;
  if (reference.kind === 'version') return `models:/${reference.name}/${reference.version}`;
  return `models:/${reference.name}/${reference.stage}`;
}

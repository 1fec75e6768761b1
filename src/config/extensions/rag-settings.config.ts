import { LABEL_PATTERN, NAME_PATTERN, PromptSelector } from 'src/config/extensions/prompt-binding.config';

/** An endpoint's `gatehouse.rag`: a RAG endpoint answers from a knowledge base through an LLM endpoint. */
export interface RagSettings {
  knowledgeBase: string;
  /** Passages retrieved per question (before fitting them to the model's window). */
  topK: number;
  /** The prompt template rendered with `question` and `context` (the passages). */
  template: PromptSelector;
  /** The chat endpoint (or route) that writes the answer. */
  llmEndpoint: string;
  /** Fuse full-text matches with the vector ranking. */
  hybrid: boolean;
  /** Passages below this cosine similarity are left out (0 = keep every retrieved passage). */
  minScore: number;
}

/** The provider of a RAG endpoint declared without `model:` (its model is its LLM endpoint's). */
export const RAG_PROVIDER = 'gatehouse-rag';

const KEYS = ['knowledge_base', 'top_k', 'template', 'llm_endpoint', 'hybrid', 'min_score'];

/**
 * Reads `gatehouse.rag: {knowledge_base, top_k?, template, llm_endpoint, hybrid?, min_score?}`. `template`
 * is a template name (its `production` label) or `{template, label | version}`. Problems are returned for
 * the loader to report with the file's others.
 */
export function readRagSettings(value: unknown): { settings?: RagSettings; problems: string[] } {
  if (value === undefined || value === null) return { problems: [] };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return {
      problems: ["'gatehouse.rag' must be a mapping with knowledge_base, template and llm_endpoint."],
    };
  }
  const raw = value as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(raw).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) problems.push(`'gatehouse.rag' has unknown key(s): ${unknown.join(', ')}.`);
  const name = (key: string): string | undefined => {
    const v = raw[key];
    if (typeof v === 'string' && NAME_PATTERN.test(v)) return v;
    problems.push(`'gatehouse.rag.${key}' must be a name.`);
    return undefined;
  };
  const knowledgeBase = name('knowledge_base');
  const llmEndpoint = name('llm_endpoint');
  const topK = raw.top_k ?? 4;
  if (!Number.isSafeInteger(topK) || (topK as number) < 1 || (topK as number) > 50) {
    problems.push("'gatehouse.rag.top_k' must be an integer from 1 to 50.");
  }
  const minScore = raw.min_score ?? 0;
  if (typeof minScore !== 'number' || !(minScore >= -1 && minScore <= 1)) {
    problems.push("'gatehouse.rag.min_score' must be a number from -1 to 1.");
  }
  if (raw.hybrid !== undefined && typeof raw.hybrid !== 'boolean') {
    problems.push("'gatehouse.rag.hybrid' must be true or false.");
  }
  const template = readTemplate(raw.template, problems);
  if (problems.length > 0 || !knowledgeBase || !llmEndpoint || !template) return { problems };
  return {
    settings: {
      knowledgeBase,
      llmEndpoint,
      template,
      topK: topK as number,
      hybrid: raw.hybrid === true,
      minScore: minScore as number,
    },
    problems,
  };
}

function readTemplate(value: unknown, problems: string[]): PromptSelector | undefined {
  if (typeof value === 'string' && NAME_PATTERN.test(value)) return { template: value, label: 'production' };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const raw = value as Record<string, unknown>;
    if (typeof raw.template === 'string' && NAME_PATTERN.test(raw.template)) {
      if (Number.isSafeInteger(raw.version) && (raw.version as number) > 0 && raw.label === undefined) {
        return { template: raw.template, version: raw.version as number };
      }
      if (
        raw.version === undefined &&
        (raw.label === undefined || (typeof raw.label === 'string' && LABEL_PATTERN.test(raw.label)))
      ) {
        return { template: raw.template, label: raw.label ?? 'production' };
      }
    }
  }
  problems.push("'gatehouse.rag.template' must be a template name or {template, label | version}.");
  return undefined;
}

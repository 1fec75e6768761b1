import { readRagSettings } from 'src/config/extensions/rag-settings.config';

describe('readRagSettings', () => {
  it('reads the settings with defaults; a template name means its production label', () => {
    expect(readRagSettings({ knowledge_base: 'kb', template: 't', llm_endpoint: 'chat' })).toEqual({
      settings: {
        knowledgeBase: 'kb',
        llmEndpoint: 'chat',
        template: { template: 't', label: 'production' },
        topK: 4,
        hybrid: false,
        minScore: 0,
      },
      problems: [],
    });
    expect(
      readRagSettings({
        knowledge_base: 'kb',
        template: { template: 't', version: 3 },
        llm_endpoint: 'chat',
        top_k: 8,
        hybrid: true,
        min_score: 0.3,
      }).settings,
    ).toMatchObject({ template: { template: 't', version: 3 }, topK: 8, hybrid: true, minScore: 0.3 });
    expect(readRagSettings(undefined)).toEqual({ problems: [] });
  });

  it('lists every problem', () => {
    const { settings, problems } = readRagSettings({
      knowledge_base: 3,
      template: { template: 't', version: 0 },
      top_k: 500,
      min_score: 2,
      hybrid: 'yes',
      extra: 1,
    });
    expect(settings).toBeUndefined();
    expect(problems).toEqual([
      "'gatehouse.rag' has unknown key(s): extra.",
      "'gatehouse.rag.knowledge_base' must be a name.",
      "'gatehouse.rag.llm_endpoint' must be a name.",
      "'gatehouse.rag.top_k' must be an integer from 1 to 50.",
      "'gatehouse.rag.min_score' must be a number from -1 to 1.",
      "'gatehouse.rag.hybrid' must be true or false.",
      "'gatehouse.rag.template' must be a template name or {template, label | version}.",
    ]);
    expect(readRagSettings('kb').problems).toHaveLength(1);
  });
});

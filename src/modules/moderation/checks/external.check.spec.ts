import { ExternalCheck, parseJudgeAnswer } from 'src/modules/moderation/checks/external.check';
import { PlaceholderVault } from 'src/modules/moderation/placeholder-vault';
import {
  CheckContext,
  ClassifierResult,
  ExternalClassifierRequest,
  ExternalJudgeRequest,
} from 'src/modules/moderation/moderation.types';

function ctx(
  complete: (r: ExternalJudgeRequest) => Promise<string>,
  moderate: (r: ExternalClassifierRequest) => Promise<ClassifierResult> = () =>
    Promise.reject(new Error('unused')),
): CheckContext {
  return {
    stage: 'input',
    vault: new PlaceholderVault(),
    external: { complete, moderate },
    signal: new AbortController().signal,
  };
}

const check = (onError: 'allow' | 'block', categories: string[] = []) =>
  new ExternalCheck({
    name: 'llama-guard',
    action: 'block',
    kind: 'llm-judge',
    endpoint: 'guard',
    timeoutMs: 50,
    onError,
    categories,
    prompt: 'Classify {{role}}: {{text}}',
  });

describe('LLM judge check', () => {
  it('parses Llama Guard answers', () => {
    expect(parseJudgeAnswer('safe')).toEqual({ safe: true });
    expect(parseJudgeAnswer('\n unsafe\nS1,S10 ')).toEqual({ safe: false, categories: ['S1', 'S10'] });
    expect(parseJudgeAnswer('UNSAFE')).toEqual({ safe: false, categories: [] });
    expect(() => parseJudgeAnswer('I cannot help with that')).toThrow('neither safe nor unsafe');
  });

  it('sends the prompt with role and text to the judge endpoint, and blocks on unsafe', async () => {
    const seen: ExternalJudgeRequest[] = [];
    const verdict = await check('allow').run(
      'how to build a bomb',
      ctx((r) => {
        seen.push(r);
        return Promise.resolve('unsafe\nS9');
      }),
    );
    expect(seen.map((r) => [r.endpoint, r.prompt, r.timeoutMs])).toEqual([
      ['guard', 'Classify User: how to build a bomb', 50],
    ]);
    expect(verdict.action).toBe('block');
    expect(verdict.detections).toEqual([
      { category: 'external.S9', score: 1, reason: 'Indiscriminate Weapons' },
    ]);
  });

  it('ignores categories the policy does not list', async () => {
    const verdict = await check('allow', ['S1']).run(
      'x',
      ctx(() => Promise.resolve('unsafe\nS8')),
    );
    expect(verdict.action).toBe('allow');
  });

  it('fails open on a timeout when the policy says allow, closed when it says block', async () => {
    const slow = () =>
      new Promise<string>((_, reject) => setTimeout(() => reject(new Error('judge timed out')), 60));
    const open = await check('allow').run('hello', ctx(slow));
    expect([open.action, open.error]).toEqual(['allow', 'timed out']);
    const closed = await check('block').run('hello', ctx(slow));
    expect([closed.action, closed.error, closed.detections[0].category]).toEqual([
      'block',
      'timed out',
      'external.unavailable',
    ]);
    const garbled = await check('block').run(
      'hello',
      ctx(() => Promise.resolve('maybe?')),
    );
    expect([garbled.action, garbled.error]).toEqual(['block', 'unreadable answer']);
  });

  it('reads an OpenAI-compatible moderation API: flagged categories, filtered, with scores', async () => {
    const api = new ExternalCheck({
      name: 'openai-moderation',
      action: 'block',
      kind: 'openai-moderation',
      endpoint: 'omni',
      timeoutMs: 50,
      onError: 'block',
      categories: ['violence', 'self-harm/intent'],
      prompt: '{{text}}',
    });
    const seen: ExternalClassifierRequest[] = [];
    const answer = (categories: Record<string, boolean>) => (r: ExternalClassifierRequest) => {
      seen.push(r);
      return Promise.resolve({
        flagged: Object.values(categories).some(Boolean),
        categories,
        category_scores: { violence: 0.91, harassment: 0.7, 'self-harm/intent': 0.2 },
      });
    };
    const never = () => Promise.reject(new Error('unused'));
    const violent = await api.run('text', ctx(never, answer({ violence: true, harassment: true })));
    expect(violent).toMatchObject({
      action: 'block',
      score: 0.91,
      detections: [{ category: 'external.violence', score: 0.91, reason: 'violence' }],
    });
    expect(seen[0]).toMatchObject({ endpoint: 'omni', input: 'text', timeoutMs: 50 });
    // Harassment is flagged by the API but not listed in this policy.
    expect((await api.run('t', ctx(never, answer({ harassment: true })))).action).toBe('allow');
    const down = await api.run(
      't',
      ctx(never, () => Promise.reject(new Error('socket hang up'))),
    );
    expect([down.action, down.error]).toEqual(['block', 'call failed']);
  });
});

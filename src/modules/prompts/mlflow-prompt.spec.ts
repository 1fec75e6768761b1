import { fromMlflowPrompt } from 'src/modules/prompts/mlflow-prompt';
import { readPromptBinding } from 'src/config/extensions/prompt-binding.config';

const prompt = { key: 'mlflow.prompt.is_prompt', value: 'true' };
const text = (value: string) => ({ key: 'mlflow.prompt.text', value });

describe('MLflow Prompt Registry references', () => {
  it('reads prompts:/ URIs as selectors in their own namespace', () => {
    expect(readPromptBinding('prompts:/summarize@production')).toEqual({
      binding: { template: 'prompts:/summarize', label: 'production' },
      problems: [],
    });
    expect(readPromptBinding('prompts:/my.prompt-1/7')).toEqual({
      binding: { template: 'prompts:/my.prompt-1', version: 7 },
      problems: [],
    });
    for (const bad of ['prompts:/x', 'prompts:/a b@c', 'models:/x@y', 'prompts:/x/0', 'prompts:/x@']) {
      expect(readPromptBinding(bad).problems).toHaveLength(1);
    }
  });

  it('converts text and chat versions, aliases and latest; leaves out what it cannot render', () => {
    const { template, problems } = fromMlflowPrompt(
      { name: 'p', tags: [prompt], aliases: [{ alias: 'production', version: '1' }] },
      [
        { version: '1', tags: [text('Say {{ what }} to {{who}}')] },
        {
          version: '2',
          tags: [
            text(
              JSON.stringify([
                { role: 'system', content: 'Be {{tone}}' },
                { role: 'user', content: 'hi' },
              ]),
            ),
            { key: '_mlflow_prompt_type', value: 'chat' },
          ],
        },
        { version: '3', tags: [text('Hello {{ user.name }}')] },
        { version: '4', tags: [text('[not json'), { key: '_mlflow_prompt_type', value: 'chat' }] },
      ],
    );
    expect(template?.name).toBe('prompts:/p');
    expect([...template!.versions.keys()].sort()).toEqual([1, 2]);
    expect(template!.versions.get(1)).toMatchObject({
      messages: [{ role: 'user', content: 'Say {{ what }} to {{who}}' }],
      variables: [
        { name: 'what', type: 'string', required: true },
        { name: 'who', type: 'string', required: true },
      ],
    });
    expect(template!.versions.get(2)?.messages).toEqual([
      { role: 'system', content: 'Be {{tone}}' },
      { role: 'user', content: 'hi' },
    ]);
    expect(Object.fromEntries(template!.labels)).toEqual({ production: 1 });
    expect(template!.latestVersion).toBe(4);
    expect(problems).toEqual([
      'version 4: the chat template is not JSON',
      'version 3: variables Gatehouse cannot fill: user.name',
    ]);
  });

  it('refuses a registered model that is not a prompt', () => {
    expect(fromMlflowPrompt({ name: 'churn', tags: [] }, [])).toEqual({
      problems: ["'churn' is a registered model, not a prompt"],
    });
  });
});

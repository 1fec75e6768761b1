import { readPromptBinding } from 'src/config/extensions/prompt-binding.config';

describe('readPromptBinding', () => {
  it('reads a label (default production) or a pinned version', () => {
    expect(readPromptBinding({ template: 'a' })).toEqual({
      binding: { template: 'a', label: 'production' },
      problems: [],
    });
    expect(readPromptBinding({ template: 'a', label: 'staging' }).binding).toEqual({
      template: 'a',
      label: 'staging',
    });
    expect(readPromptBinding({ template: 'a', version: 3 }).binding).toEqual({ template: 'a', version: 3 });
    expect(readPromptBinding(undefined)).toEqual({ problems: [] });
  });

  it('reports every problem', () => {
    expect(readPromptBinding({ template: 'a', label: 'x', version: 1 }).problems).toEqual([
      "'gatehouse.prompt' takes either 'label' or 'version', not both.",
    ]);
    expect(readPromptBinding({ template: '../x', version: 0, colour: 1 }).problems).toHaveLength(3);
    expect(readPromptBinding('support').problems).toHaveLength(1);
  });
});

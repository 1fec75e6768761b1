import { readConversationSettings } from 'src/config/extensions/conversation-settings.config';

describe('readConversationSettings', () => {
  it('fills defaults', () => {
    expect(readConversationSettings({})).toEqual({
      settings: {
        strategy: 'truncate',
        summarizerEndpoint: null,
        windowTokens: null,
        reserveTokens: 256,
        summaryMaxTokens: 256,
        compress: false,
      },
      problems: [],
    });
    expect(readConversationSettings(undefined)).toEqual({ problems: [] });
  });

  it('reads a summarize block', () => {
    const read = readConversationSettings({
      strategy: 'summarize',
      summarizer_endpoint: 'cheap',
      window_tokens: 4000,
      reserve_tokens: 100,
      summary_max_tokens: 200,
      compress: true,
    });
    expect(read.settings).toMatchObject({
      strategy: 'summarize',
      summarizerEndpoint: 'cheap',
      windowTokens: 4000,
    });
  });

  it('reports every problem', () => {
    expect(readConversationSettings({ strategy: 'summarize' }).problems).toEqual([
      "'gatehouse.conversation.summarizer_endpoint' is required with strategy 'summarize'.",
    ]);
    const bad = readConversationSettings({
      strategy: 'forget',
      window_tokens: 10,
      compress: 'yes',
      extra: 1,
    });
    expect(bad.problems).toHaveLength(4);
    expect(
      readConversationSettings({ window_tokens: 300, reserve_tokens: 200, summary_max_tokens: 100 }).problems,
    ).toEqual(["'gatehouse.conversation': reserve_tokens + summary_max_tokens must be below window_tokens."]);
  });
});

import { fitContext, summaryMessage } from 'src/modules/conversations/context-fitter';
import { MessageCounter } from 'src/modules/tokens/token-counter';
import { ChatMessage } from 'src/modules/providers/provider-adapter';

// One token per character keeps the arithmetic visible: a message costs 3 + role length + content length.
const counter = new MessageCounter(
  (text) => text.length,
  (text, max) => text.slice(0, max),
);
const msg = (role: string, content: string): ChatMessage => ({ role, content });
const system = [msg('system', 'sys')]; // 3 + 6 + 3 = 12
const latest = [msg('user', 'now')]; // 3 + 4 + 3 = 10
const history = [
  msg('user', 'aaaa'),
  msg('assistant', 'bbbb'),
  msg('user', 'cccc'),
  msg('assistant', 'dddd'),
];
// costs: 11, 16, 11, 16

describe('fitContext', () => {
  it('keeps everything when it fits', () => {
    const fit = fitContext({
      system,
      summary: null,
      history,
      latest,
      budget: 1000,
      summaryReserve: 0,
      counter,
    });
    expect(fit).toEqual({ fits: true, keepFrom: 0, tokens: 3 + 12 + 10 + 11 + 16 + 11 + 16 });
  });

  it('keeps the system prompt, the new message and the latest turns that fit', () => {
    // fixed = 3 + 12 + 10 = 25; + dddd(16) = 41; + cccc(11) = 52; + bbbb(16) = 68 > 60
    const fit = fitContext({
      system,
      summary: null,
      history,
      latest,
      budget: 60,
      summaryReserve: 0,
      counter,
    });
    expect(fit).toEqual({ fits: true, keepFrom: 2, tokens: 52 });
  });

  it('sets room aside for a summary still to be written', () => {
    // fixed = 25 + 10 + 16 = 51; + dddd = 67 > 60
    const fit = fitContext({
      system,
      summary: null,
      history,
      latest,
      budget: 60,
      summaryReserve: 10,
      counter,
    });
    expect(fit).toEqual({ fits: true, keepFrom: 4, tokens: 51 });
  });

  it('counts an existing summary', () => {
    const summary = summaryMessage('s');
    const fit = fitContext({
      system,
      summary,
      history: [],
      latest,
      budget: 1000,
      summaryReserve: 0,
      counter,
    });
    expect(fit).toEqual({ fits: true, keepFrom: 0, tokens: 25 + counter.message(summary) });
  });

  it('reports a prompt that cannot fit even with no history', () => {
    const fit = fitContext({
      system,
      summary: null,
      history,
      latest,
      budget: 24,
      summaryReserve: 0,
      counter,
    });
    expect(fit).toEqual({ fits: false, tokens: 25 });
  });

  it('never starts the kept history with an orphaned tool result', () => {
    const withTool = [msg('assistant', 'call'), msg('tool', 'result'), msg('assistant', 'x')];
    // fixed 25; + x(13) = 38; + tool result(13) = 51; + call(16) = 67 > 55 → keepFrom 1 (tool) → moved to 2
    const fit = fitContext({
      system,
      summary: null,
      history: withTool,
      latest,
      budget: 55,
      summaryReserve: 0,
      counter,
    });
    expect(fit).toEqual({ fits: true, keepFrom: 2, tokens: 38 });
  });
});

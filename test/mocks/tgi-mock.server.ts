import { ServerResponse } from 'node:http';
import { RecordedCall, RunningMock, sendJson, startMock, words } from 'test/mocks/mock-http';

/**
 * A local Hugging Face Text Generation Inference server
 * (https://huggingface.github.io/text-generation-inference/) for e2e tests: `POST /generate`
 * (`{generated_text, details}`), `POST /generate_stream` (SSE `data:` events with `token`, and
 * `generated_text` + `details` on the last), `GET /health`, and TGI's `{"error","error_type"}` bodies.
 * Behaviour:
 *   - the model answers `echo: <inputs>`, one token per word, then an `</s>` special token
 *     (finish_reason eos_token); `max_new_tokens` cuts it (finish_reason length);
 *   - prefill (asked with decoder_input_details) = `<s>` + one token per input word;
 *   - inputs + max_new_tokens over 1024 → 422 validation; `decoder_input_details` on a stream → 422;
 *   - inputs starting with `mock-overloaded` → 429 overloaded; `mock-stream-error` → an error event
 *     after the first token.
 */
export type TgiMock = RunningMock;

const MAX_TOTAL_TOKENS = 1024;

function tgiError(res: ServerResponse, status: number, error: string, type: string): void {
  sendJson(res, status, { error, error_type: type });
}

export async function startTgiMock(): Promise<TgiMock> {
  return startMock(handle, (res) =>
    tgiError(res, 422, 'Failed to deserialize the JSON body into the target type', 'validation'),
  );
}

function handle(call: RecordedCall, _req: unknown, res: ServerResponse): void {
  if (call.method === 'GET' && call.path === '/health') {
    res.writeHead(200).end();
    return;
  }
  if (call.method !== 'POST' || (call.path !== '/generate' && call.path !== '/generate_stream')) {
    res.writeHead(404).end();
    return;
  }
  const stream = call.path === '/generate_stream';
  const { inputs, parameters = {} } = call.body as { inputs?: unknown; parameters?: Record<string, unknown> };
  if (typeof inputs !== 'string' || inputs === '') {
    tgiError(res, 422, 'Input validation error: `inputs` cannot be empty', 'validation');
    return;
  }
  if (inputs.startsWith('mock-overloaded')) {
    tgiError(res, 429, 'Model is overloaded', 'overloaded');
    return;
  }
  if (stream && parameters.decoder_input_details === true) {
    tgiError(
      res,
      422,
      'Input validation error: `decoder_input_details` == true is not supported when streaming tokens',
      'validation',
    );
    return;
  }
  const temperature = parameters.temperature;
  if (temperature !== undefined && (typeof temperature !== 'number' || temperature <= 0)) {
    tgiError(res, 422, 'Input validation error: `temperature` must be strictly positive', 'validation');
    return;
  }
  const inputWords = words(inputs);
  const maxNew = typeof parameters.max_new_tokens === 'number' ? parameters.max_new_tokens : 100;
  if (inputWords.length + maxNew > MAX_TOTAL_TOKENS) {
    tgiError(
      res,
      422,
      `Input validation error: \`inputs\` tokens + \`max_new_tokens\` must be <= ${MAX_TOTAL_TOKENS}. Given: ${inputWords.length} \`inputs\` tokens and ${maxNew} \`max_new_tokens\``,
      'validation',
    );
    return;
  }
  const answer = words(`echo: ${inputs}`);
  const cut = answer.length > maxNew;
  const tokens = answer.slice(0, maxNew).map((word, i) => ({
    id: 1000 + i,
    text: i === 0 ? word : ` ${word}`,
    logprob: -0.1,
    special: false,
  }));
  if (!cut) tokens.push({ id: 2, text: '</s>', logprob: -0.01, special: true });
  const generated = tokens
    .filter((t) => !t.special)
    .map((t) => t.text)
    .join('');
  const details: Record<string, unknown> = {
    finish_reason: cut ? 'length' : 'eos_token',
    generated_tokens: tokens.length,
    seed: null,
  };
  if (!stream) {
    details.tokens = tokens;
    if (parameters.decoder_input_details === true) {
      details.prefill = [
        { id: 1, text: '<s>', logprob: null as number | null },
        ...inputWords.map((word, i) => ({ id: 2000 + i, text: word, logprob: -1 })),
      ];
    }
    sendJson(res, 200, { generated_text: generated, details: parameters.details === true ? details : null });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  tokens.forEach((token, i) => {
    if (i === 1 && inputs.startsWith('mock-stream-error')) {
      res.write(
        `data: ${JSON.stringify({ error: 'Request failed during generation: Server error: CUDA out of memory', error_type: 'generation' })}\n\n`,
      );
      return;
    }
    if (i > 1 && inputs.startsWith('mock-stream-error')) return;
    const lastOne = i === tokens.length - 1;
    const event = {
      index: i + 1,
      token,
      top_tokens: null,
      generated_text: lastOne ? generated : null,
      details: lastOne && parameters.details === true ? details : null,
    };
    res.write(`data: ${JSON.stringify(event)}\n\n`);
  });
  res.end();
}

import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';

/** A batch input file: one chat request per text, custom ids `<prefix>-<i>`. */
export function chatLines(
  model: string,
  texts: string[],
  prefix = 'req',
  url = '/v1/chat/completions',
): string {
  return texts
    .map((text, i) =>
      JSON.stringify({
        custom_id: `${prefix}-${i}`,
        method: 'POST',
        url,
        body: { model, messages: [{ role: 'user', content: text }] },
      }),
    )
    .join('\n');
}

export async function upload(client: OpenAI, jsonl: string, name = 'input.jsonl'): Promise<string> {
  const file = await client.files.create({ file: await toFile(Buffer.from(jsonl), name), purpose: 'batch' });
  return file.id;
}

/** Polls until the batch reaches one of `until`; every status seen, in order, without repeats. */
export async function waitForBatch(
  client: OpenAI,
  id: string,
  until: Batch['status'][],
  timeoutMs = 60_000,
): Promise<{ batch: Batch; seen: Batch['status'][] }> {
  const seen: Batch['status'][] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (seen[seen.length - 1] !== batch.status) seen.push(batch.status);
    if (until.includes(batch.status)) return { batch, seen };
    if (Date.now() > deadline)
      throw new Error(`batch ${id} still ${batch.status} (seen ${seen.join(' → ')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface OutputLine {
  id: string;
  custom_id: string;
  response: {
    status_code: number;
    request_id: string;
    body: { choices: { message: { content: string } }[]; error: { type: string }; data: unknown[] };
  } | null;
  error: { code: string; message: string } | null;
}

export async function readJsonl(client: OpenAI, fileId: string): Promise<OutputLine[]> {
  const response = await client.files.content(fileId);
  const text = await response.text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutputLine);
}

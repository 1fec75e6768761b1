import { Logger } from '@nestjs/common';
import type { StoredResponseEntity } from 'src/modules/responses/entities/stored-response.entity';
import type {
  NewStoredResponse,
  StoredResponseRepository,
} from 'src/modules/responses/stored-response.repository';
import { StoredResponsesService } from 'src/modules/responses/stored-responses.service';

const CONFIG = { RESPONSES_RETENTION_SECONDS: 60, RESPONSES_SWEEP_INTERVAL_MS: 0 };
const owner = { scope: 'team:t', principalId: 'p', teamId: 't' };
const principal = { id: 'p', teamId: 't' } as never;

/** A repository double whose inserts finish when the test says so. */
function repository() {
  const rows = new Map<string, NewStoredResponse>();
  let release: (() => void) | undefined;
  let failWith: Error | undefined;
  const double = {
    insert: (row: NewStoredResponse) =>
      new Promise<void>((resolve, reject) => {
        expect(row.retentionSeconds).toBe(60);
        release = () => {
          if (failWith) reject(failWith);
          else {
            rows.set(row.id, row);
            resolve();
          }
        };
      }),
    find: (scope: string, id: string) => {
      const row = rows.get(id);
      return Promise.resolve(
        row && row.owner.scope === scope
          ? ({
              ...row,
              contextItems: row.contextItems,
              inputItems: row.inputItems,
            } as unknown as StoredResponseEntity)
          : null,
      );
    },
  };
  return {
    double: double as unknown as StoredResponseRepository,
    release: () => release!(),
    fail: (error: Error) => (failWith = error),
  };
}

const row = (id: string): Omit<NewStoredResponse, 'retentionSeconds'> => ({
  id,
  owner,
  endpoint: 'chat',
  response: { id, output: [{ type: 'message', role: 'assistant', content: [] }] },
  inputItems: [{ id: 'msg_1', type: 'message', role: 'user', content: [] }],
  contextItems: [],
});

describe('StoredResponsesService', () => {
  it('save returns at once; a read of that id waits for the write in flight', async () => {
    const repo = repository();
    const service = new StoredResponsesService(repo.double, CONFIG);
    expect(service.save(row('resp_a'))).toBeUndefined();
    const read = service.get(principal, 'resp_a');
    repo.release();
    expect(await read).toEqual(row('resp_a').response);
  });

  it('a failed write is logged with the response id, never thrown; the id then reads as not found', async () => {
    const repo = repository();
    const errors: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(String(message));
    });
    try {
      const service = new StoredResponsesService(repo.double, CONFIG);
      repo.fail(new Error('connection refused'));
      service.save(row('resp_b'));
      repo.release();
      await service.onApplicationShutdown();
      expect(errors).toEqual([expect.stringContaining('storing response resp_b failed')]);
      await expect(service.get(principal, 'resp_b')).rejects.toMatchObject({ status: 404 });
    } finally {
      spy.mockRestore();
    }
  });

  it('input_items: newest first by default, paged with limit and after, in OpenAI list shape', async () => {
    const repo = repository();
    const service = new StoredResponsesService(repo.double, CONFIG);
    const items = ['a', 'b', 'c'].map((id) => ({ id, type: 'message' }));
    service.save({ ...row('resp_c'), contextItems: items.slice(0, 2), inputItems: items.slice(2) });
    repo.release();
    expect(await service.inputItems(principal, 'resp_c', {})).toEqual({
      object: 'list',
      data: [items[2], items[1], items[0]],
      first_id: 'c',
      last_id: 'a',
      has_more: false,
    });
    expect(
      await service.inputItems(principal, 'resp_c', { order: 'asc', limit: '1', after: 'a' }),
    ).toMatchObject({
      data: [items[1]],
      has_more: true,
    });
    await expect(service.inputItems(principal, 'resp_c', { limit: '0' })).rejects.toMatchObject({
      status: 400,
    });
    await expect(service.inputItems(principal, 'resp_c', { after: 'zzz' })).rejects.toMatchObject({
      status: 400,
    });
  });
});

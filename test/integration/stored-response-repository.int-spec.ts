import { DataSource } from 'typeorm';
import { StoredResponses1765300100000 } from 'migrations/1765300100000-stored-responses';
import { MIGRATIONS } from 'src/infra/database/migrations';
import { StoredResponseEntity } from 'src/modules/responses/entities/stored-response.entity';
import { ResponseOwner, StoredResponseRepository } from 'src/modules/responses/stored-response.repository';
import { createTestDatabase } from 'test/e2e/support/test-gateway';

/** The stored-responses table and its repository against the machine's PostgreSQL. */
describe('StoredResponseRepository (PostgreSQL)', () => {
  let database: { url: string; drop: () => Promise<void> };
  let dataSource: DataSource;
  let repository: StoredResponseRepository;

  const alpha: ResponseOwner = { scope: 'team:alpha', principalId: 'p-a', teamId: 'alpha' };
  const beta: ResponseOwner = { scope: 'team:beta', principalId: 'p-b', teamId: 'beta' };

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = new DataSource({
      type: 'postgres',
      url: database.url,
      entities: [StoredResponseEntity],
      migrations: MIGRATIONS,
      synchronize: false,
    });
    await dataSource.initialize();
    await dataSource.runMigrations();
    repository = new StoredResponseRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('round-trips the JSON exactly and finds a row only for its owner', async () => {
    const response = {
      id: 'resp_1',
      object: 'response',
      output: [{ type: 'message', text: 'é "quoted" \u2028' }],
    };
    await repository.insert({
      id: 'resp_1',
      owner: alpha,
      endpoint: 'chat',
      response,
      inputItems: [
        { id: 'msg_1', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
      ],
      contextItems: [],
      retentionSeconds: 60,
    });
    const row = await repository.find(alpha.scope, 'resp_1');
    expect(row).toMatchObject({
      id: 'resp_1',
      ownerScope: 'team:alpha',
      principalId: 'p-a',
      teamId: 'alpha',
      endpoint: 'chat',
      response,
      contextItems: [],
    });
    expect(row!.inputItems[0].id).toBe('msg_1');
    expect(row!.createdAt).toBeInstanceOf(Date);
    expect(await repository.find(beta.scope, 'resp_1')).toBeNull();
    expect(await repository.find(alpha.scope, 'resp_missing')).toBeNull();
  });

  it('deletes only for the owner, once', async () => {
    await repository.insert({
      id: 'resp_2',
      owner: alpha,
      endpoint: 'chat',
      response: { id: 'resp_2' },
      inputItems: [],
      contextItems: [{ id: 'msg_0' }],
      retentionSeconds: 60,
    });
    expect(await repository.delete(beta.scope, 'resp_2')).toBe(false);
    expect(await repository.find(alpha.scope, 'resp_2')).not.toBeNull();
    expect(await repository.delete(alpha.scope, 'resp_2')).toBe(true);
    expect(await repository.delete(alpha.scope, 'resp_2')).toBe(false);
    expect(await repository.find(alpha.scope, 'resp_2')).toBeNull();
  });

  it('a second insert of the same id fails rather than overwriting', async () => {
    const row = {
      id: 'resp_3',
      owner: alpha,
      endpoint: 'chat',
      response: { n: 1 },
      inputItems: [],
      contextItems: [],
      retentionSeconds: 60,
    };
    await repository.insert(row);
    await expect(repository.insert({ ...row, owner: beta, response: { n: 2 } })).rejects.toThrow();
    expect((await repository.find(alpha.scope, 'resp_3'))!.response).toEqual({ n: 1 });
  });

  it('an expired response is invisible at once, cannot be deleted, and the sweep removes only it', async () => {
    const base = { owner: alpha, endpoint: 'chat', response: {}, inputItems: [], contextItems: [] };
    await repository.insert({ ...base, id: 'resp_old', retentionSeconds: 1 });
    await repository.insert({ ...base, id: 'resp_new', retentionSeconds: 3600 });
    await dataSource.query(
      `UPDATE stored_responses SET expires_at = now() - interval '1 second' WHERE id = 'resp_old'`,
    );
    expect(await repository.find(alpha.scope, 'resp_old')).toBeNull();
    expect(await repository.delete(alpha.scope, 'resp_old')).toBe(false);
    const expiry = await dataSource.query<{ s: number }[]>(
      `SELECT extract(epoch FROM expires_at - created_at)::int AS s FROM stored_responses WHERE id = 'resp_new'`,
    );
    expect(expiry[0].s).toBe(3600);
    expect(await repository.sweep()).toBe(1);
    expect(await repository.sweep()).toBe(0);
    expect(await repository.find(alpha.scope, 'resp_new')).not.toBeNull();
  });

  it('the migration is reversible', async () => {
    // This migration's own down and up (not undoLastMigration: a later migration may follow it).
    const runner = dataSource.createQueryRunner();
    const migration = new StoredResponses1765300100000();
    await migration.down(runner);
    const gone = await dataSource.query<{ t: string | null }[]>(
      `SELECT to_regclass('stored_responses') AS t`,
    );
    expect(gone[0].t).toBeNull();
    await migration.up(runner);
    await runner.release();
    const back = await dataSource.query<{ t: string | null }[]>(
      `SELECT to_regclass('stored_responses') AS t`,
    );
    expect(back[0].t).toBe('stored_responses');
  });
});

import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from 'src/infra/database/migrations';
import { ProductsRepository } from 'src/modules/products/products.repository';
import { createTestDatabase } from 'test/e2e/support/test-gateway';

/** ProductsRepository against the machine's PostgreSQL: the SQL and the row mapping. */
describe('ProductsRepository (PostgreSQL)', () => {
  let database: { url: string; drop: () => Promise<void> };
  let dataSource: DataSource;
  let repository: ProductsRepository;
  const actor = { id: 'p-1', name: 'alice' };

  const newProduct = (name: string, endpoint: string) => ({
    id: randomUUID(),
    name,
    title: `Title ${name}`,
    description: 'd',
    teamId: null,
    endpoint,
    endpointType: 'llm/v1/chat',
    limits: '10/min',
    pricePer1kTokensUsd: 0.125,
    createdBy: actor.id,
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: MIGRATIONS });
    await dataSource.initialize();
    await dataSource.runMigrations();
    repository = new ProductsRepository(dataSource);
  }, 60_000);

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('inserts once per name and maps every column back', async () => {
    const created = await repository.transaction((m) => repository.insert(newProduct('alpha', 'ep-1'), m));
    expect(created).toMatchObject({
      name: 'alpha',
      state: 'draft',
      revision: 1,
      pricePer1kTokensUsd: 0.125,
      limits: '10/min',
      sunsetAt: null,
      teamId: null,
    });
    const again = await repository.transaction((m) => repository.insert(newProduct('alpha', 'ep-2'), m));
    expect(again).toBeUndefined();
  });

  it('moves state by compare-and-set, bumps the revision and keeps revisions as snapshots', async () => {
    const product = (await repository.findByName('alpha'))!;
    await repository.transaction((m) => repository.addRevision(product, 'create', actor, m));
    const stale = await repository.transaction((m) =>
      repository.transition(product.id, 'published', { state: 'deprecated' }, m),
    );
    expect(stale).toBeUndefined();
    const sunset = new Date('2030-01-31T00:00:00Z');
    const published = await repository.transaction((m) =>
      repository.transition(product.id, 'draft', { state: 'published' }, m),
    );
    const deprecated = await repository.transaction(async (m) => {
      const next = await repository.transition(
        product.id,
        'published',
        { state: 'deprecated', sunsetAt: sunset, note: 'bye' },
        m,
      );
      await repository.addRevision(next!, 'deprecate', actor, m);
      return next;
    });
    expect([published?.revision, published?.state]).toEqual([2, 'published']);
    expect(deprecated).toMatchObject({ revision: 3, sunsetAt: sunset.toISOString(), deprecationNote: 'bye' });
    const cleared = await repository.transaction((m) =>
      repository.transition(product.id, 'deprecated', { state: 'published', sunsetAt: null, note: null }, m),
    );
    expect(cleared).toMatchObject({ revision: 4, sunsetAt: null, deprecationNote: null });

    const revisions = await repository.revisions(product.id);
    expect(revisions.map((r) => [r.revision, r.action, r.state, r.actor.name])).toEqual([
      [3, 'deprecate', 'deprecated', 'alice'],
      [1, 'create', 'draft', 'alice'],
    ]);
    expect(revisions[0].snapshot).toMatchObject({ name: 'alpha', sunsetAt: sunset.toISOString() });
    expect(Object.keys(revisions[0].snapshot)).not.toContain('createdBy');
  });

  it('finds the live product of an endpoint (not a retired one) and its subscriptions', async () => {
    const retiredLater = await repository.transaction((m) =>
      repository.insert(newProduct('beta', 'ep-9'), m),
    );
    expect((await repository.findLiveByEndpoint('ep-9'))?.name).toBe('beta');
    await repository.transaction((m) =>
      repository.transition(retiredLater!.id, 'draft', { state: 'retired' }, m),
    );
    expect(await repository.findLiveByEndpoint('ep-9')).toBeUndefined();
    const subscription = randomUUID();
    await repository.linkSubscription(retiredLater!.id, subscription);
    expect(await repository.subscriptionIds(retiredLater!.id)).toEqual([subscription]);
  });
});

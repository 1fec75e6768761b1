import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { CachePolicyInput, CacheRequests, CacheScope } from 'src/modules/cache/cache-policy';
import { CachePolicyOverrideEntity } from 'src/modules/cache/entities/cache-policy-override.entity';

@Injectable()
export class CachePolicyRepository {
  constructor(
    @InjectRepository(CachePolicyOverrideEntity)
    private readonly repository: Repository<CachePolicyOverrideEntity>,
  ) {}

  async list(): Promise<Map<string, CachePolicyInput>> {
    const rows = await this.repository.find();
    return new Map(rows.map((row) => [row.endpointName, toInput(row)]));
  }

  async upsert(endpointName: string, policy: CachePolicyInput, m?: EntityManager): Promise<void> {
    await this.on(m).upsert(
      {
        endpointName,
        enabled: policy.enabled ?? null,
        ttlSeconds: policy.ttlSeconds ?? null,
        scope: policy.scope ?? null,
        requests: policy.requests ?? null,
      },
      ['endpointName'],
    );
  }

  /** Returns whether a row was removed. */
  async remove(endpointName: string, m?: EntityManager): Promise<boolean> {
    const result = await this.on(m).delete({ endpointName });
    return (result.affected ?? 0) > 0;
  }

  /** The table's repository, inside the caller's transaction when it gives one. */
  private on(m: EntityManager | undefined): Repository<CachePolicyOverrideEntity> {
    return m ? m.getRepository(CachePolicyOverrideEntity) : this.repository;
  }
}

function toInput(row: CachePolicyOverrideEntity): CachePolicyInput {
  const input: CachePolicyInput = {};
  if (row.enabled !== null) input.enabled = row.enabled;
  if (row.ttlSeconds !== null) input.ttlSeconds = row.ttlSeconds;
  if (row.scope !== null) input.scope = row.scope as CacheScope;
  if (row.requests !== null) input.requests = row.requests as CacheRequests;
  return input;
}

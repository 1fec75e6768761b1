import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
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

  async upsert(endpointName: string, policy: CachePolicyInput): Promise<void> {
    await this.repository.upsert(
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
  async remove(endpointName: string): Promise<boolean> {
    const result = await this.repository.delete({ endpointName });
    return (result.affected ?? 0) > 0;
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

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { GatewayConfigRevisionEntity } from 'src/modules/routing/entities/gateway-config-revision.entity';

export interface ConfigRevisionRecord {
  sha256: string;
  source: string;
  status: 'applied' | 'rejected';
  endpointNames: string[];
  routeNames: string[];
  problems: string[];
}

@Injectable()
export class ConfigRevisionRepository {
  constructor(
    @InjectRepository(GatewayConfigRevisionEntity)
    private readonly repository: Repository<GatewayConfigRevisionEntity>,
  ) {}

  async record(revision: ConfigRevisionRecord): Promise<void> {
    await this.repository.insert(revision);
  }

  async latest(limit: number): Promise<ConfigRevisionRecord[]> {
    const rows = await this.repository.find({ order: { id: 'DESC' }, take: limit });
    return rows.map(({ sha256, source, status, endpointNames, routeNames, problems }) => ({
      sha256,
      source,
      status,
      endpointNames,
      routeNames,
      problems,
    }));
  }
}

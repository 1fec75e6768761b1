import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { ModerationTeamPolicyEntity } from 'src/modules/moderation/entities/moderation-team-policy.entity';

export interface TeamPolicyRecord {
  teamId: string;
  endpoint: string;
  policy: unknown;
  updatedBy: string | null;
  updatedAt: Date;
}

@Injectable()
export class ModerationRepository {
  constructor(
    @InjectRepository(ModerationTeamPolicyEntity)
    private readonly repository: Repository<ModerationTeamPolicyEntity>,
  ) {}

  async all(): Promise<TeamPolicyRecord[]> {
    const rows = await this.repository.find({ order: { teamId: 'ASC', endpoint: 'ASC' } });
    return rows.map(toRecord);
  }

  async upsert(
    teamId: string,
    endpoint: string,
    policy: unknown,
    updatedBy: string | null,
    m?: EntityManager,
  ): Promise<void> {
    // jsonb: a bare string must be stored as a JSON string, not as text TypeORM would send unquoted.
    await (m ?? this.repository.manager).query(
      `INSERT INTO moderation_team_policies (team_id, endpoint, policy, updated_by, updated_at)
       VALUES ($1, $2, $3::jsonb, $4, now())
       ON CONFLICT (team_id, endpoint) DO UPDATE
         SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [teamId, endpoint, JSON.stringify(policy), updatedBy],
    );
  }

  async remove(teamId: string, endpoint: string, m?: EntityManager): Promise<boolean> {
    const result = await (m ? m.getRepository(ModerationTeamPolicyEntity) : this.repository).delete({
      teamId,
      endpoint,
    });
    return (result.affected ?? 0) > 0;
  }
}

function toRecord(row: ModerationTeamPolicyEntity): TeamPolicyRecord {
  return {
    teamId: row.teamId,
    endpoint: row.endpoint,
    policy: row.policy,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt,
  };
}

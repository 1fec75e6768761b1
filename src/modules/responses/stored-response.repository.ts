import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, MoreThan } from 'typeorm';
import { StoredResponseEntity } from 'src/modules/responses/entities/stored-response.entity';

export interface ResponseOwner {
  scope: string;
  principalId: string | null;
  teamId: string | null;
}

export interface NewStoredResponse {
  id: string;
  owner: ResponseOwner;
  endpoint: string;
  response: Record<string, unknown>;
  inputItems: Record<string, unknown>[];
  contextItems: Record<string, unknown>[];
  /** Seconds until the row expires (invisible at once, deleted by the sweep). */
  retentionSeconds: number;
}

/**
 * Stored responses. Every read and delete is scoped by owner and ignores expired rows: another owner's
 * id, or an expired one, is simply not there.
 */
@Injectable()
export class StoredResponseRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(row: NewStoredResponse): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO stored_responses (id, owner_scope, principal_id, team_id, endpoint, response, input_items,
                                     context_items, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, now(), now() + make_interval(secs => $9))`,
      [
        row.id,
        row.owner.scope,
        row.owner.principalId,
        row.owner.teamId,
        row.endpoint,
        JSON.stringify(row.response),
        JSON.stringify(row.inputItems),
        JSON.stringify(row.contextItems),
        row.retentionSeconds,
      ],
    );
  }

  find(scope: string, id: string): Promise<StoredResponseEntity | null> {
    return this.dataSource.manager.findOne(StoredResponseEntity, {
      where: { id, ownerScope: scope, expiresAt: MoreThan(new Date()) },
    });
  }

  /** True when a row of this owner was deleted. */
  async delete(scope: string, id: string): Promise<boolean> {
    const result = await this.dataSource.manager.delete(StoredResponseEntity, {
      id,
      ownerScope: scope,
      expiresAt: MoreThan(new Date()),
    });
    return (result.affected ?? 0) > 0;
  }

  /** Deletes expired rows; idempotent, so every replica may run it. The number deleted. */
  async sweep(): Promise<number> {
    const result = await this.dataSource.manager
      .createQueryBuilder()
      .delete()
      .from(StoredResponseEntity)
      .where('expires_at <= now()')
      .execute();
    return result.affected ?? 0;
  }
}

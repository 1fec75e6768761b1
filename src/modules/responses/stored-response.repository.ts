import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
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
}

/** Stored responses. Every read and delete is scoped by owner: another owner's id is simply not there. */
@Injectable()
export class StoredResponseRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(row: NewStoredResponse): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO stored_responses (id, owner_scope, principal_id, team_id, endpoint, response, input_items,
                                     context_items, created_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, now())`,
      [
        row.id,
        row.owner.scope,
        row.owner.principalId,
        row.owner.teamId,
        row.endpoint,
        JSON.stringify(row.response),
        JSON.stringify(row.inputItems),
        JSON.stringify(row.contextItems),
      ],
    );
  }

  find(scope: string, id: string): Promise<StoredResponseEntity | null> {
    return this.dataSource.manager.findOne(StoredResponseEntity, { where: { id, ownerScope: scope } });
  }

  /** True when a row of this owner was deleted. */
  async delete(scope: string, id: string): Promise<boolean> {
    const result = await this.dataSource.manager.delete(StoredResponseEntity, { id, ownerScope: scope });
    return (result.affected ?? 0) > 0;
  }
}

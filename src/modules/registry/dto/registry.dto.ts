import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class RegistryVersionDto {
  @ApiProperty() version!: string;
  @ApiProperty({ description: 'PENDING_REGISTRATION, FAILED_REGISTRATION or READY' }) status!: string;
  @ApiProperty({ description: 'Legacy stage' }) stage!: string;
  @ApiProperty({ type: [String] }) aliases!: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) tags!: Record<string, string>;
  @ApiProperty({ nullable: true, type: String }) source!: string | null;
  @ApiProperty({ nullable: true, type: String }) runId!: string | null;
  @ApiProperty({ type: [String], description: 'Gatehouse endpoints routing to this version now' })
  endpoints!: string[];
}

export class RegistryModelDto {
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) tags!: Record<string, string>;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: 'alias → version' })
  aliases!: Record<string, string>;
  @ApiProperty({ nullable: true, type: String }) latestVersion!: string | null;
  @ApiProperty() versionCount!: number;
  @ApiProperty({ type: [String], description: 'Gatehouse endpoints serving this model' })
  endpoints!: string[];
}

export class RegistryModelListDto {
  @ApiProperty({ type: [RegistryModelDto] }) models!: RegistryModelDto[];
  @ApiProperty({ nullable: true, type: String }) syncedAt!: string | null;
  @ApiProperty({ description: 'ok, degraded, disabled or pending' }) state!: string;
}

export class RegistryVersionListDto {
  @ApiProperty() name!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) aliases!: Record<string, string>;
  @ApiProperty({ type: [RegistryVersionDto] }) versions!: RegistryVersionDto[];
}

export class SyncStatusDto {
  @ApiProperty({ description: 'synced, unchanged, skipped, failed or disabled' }) status!: string;
  @ApiProperty() trigger!: string;
  @ApiProperty() models!: number;
  @ApiProperty() versions!: number;
  @ApiProperty({ nullable: true, type: String }) hash!: string | null;
  @ApiProperty({ nullable: true, type: String }) syncedAt!: string | null;
  @ApiPropertyOptional() reason?: string;
  @ApiProperty() durationMs!: number;
}

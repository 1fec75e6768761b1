import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** One price version: it applies from `effective_from` until a later version of the same model. */
@Entity('price_catalog')
export class PriceEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  provider!: string;

  @Column({ type: 'varchar', length: 256 })
  model!: string;

  @Column({ name: 'input_per_million', type: 'numeric', precision: 14, scale: 6 })
  inputPerMillion!: string;

  @Column({ name: 'output_per_million', type: 'numeric', precision: 14, scale: 6 })
  outputPerMillion!: string;

  @Column({ name: 'effective_from', type: 'timestamptz' })
  effectiveFrom!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

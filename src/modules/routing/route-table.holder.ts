import { Injectable } from '@nestjs/common';
import { ModelEndpointEntry } from 'src/modules/routing/model-endpoint.entry';
import { RouteTable } from 'src/modules/routing/route-table';

/** Turns a config table (with its predict declarations) into the resolved predict endpoints. */
export type ModelEndpointResolver = (table: RouteTable) => readonly ModelEndpointEntry[];

/**
 * Holds the live RouteTable. Readers take `current` once per request; writers replace it whole.
 * The table is the gateway.yaml table merged with the registry-backed predict endpoints: a config
 * reload and a registry change each compose a new snapshot synchronously, so a reader never sees half.
 */
@Injectable()
export class RouteTableHolder {
  current: RouteTable = RouteTable.empty();
  private base: RouteTable = RouteTable.empty();
  private resolver: ModelEndpointResolver | undefined;

  swap(next: RouteTable): void {
    this.base = next;
    this.current = this.compose(next);
  }

  /** Installs the registry's resolver (once, by the registry module) and applies it. */
  setModelResolver(resolver: ModelEndpointResolver): void {
    this.resolver = resolver;
    this.recompose();
  }

  /** Re-resolves the predict endpoints of the current config (after a registry or health change). */
  recompose(): void {
    this.current = this.compose(this.base);
  }

  private compose(table: RouteTable): RouteTable {
    return this.resolver ? table.withModels(this.resolver(table)) : table;
  }
}

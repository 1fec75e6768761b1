import { Injectable } from '@nestjs/common';
import { RouteTable } from 'src/modules/routing/route-table';

/** Holds the live RouteTable. Readers take `current` once per request; writers replace it whole. */
@Injectable()
export class RouteTableHolder {
  current: RouteTable = RouteTable.empty();

  swap(next: RouteTable): void {
    this.current = next;
  }
}

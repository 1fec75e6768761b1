import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';

export const REGISTRY_CHANGED = 'registry.changed';

export interface RegistryChangedEvent {
  previousHash: string | null;
  hash: string;
}

/** Typed `registry.changed` events for other modules (cache invalidation, audit) to subscribe to. */
@Injectable()
export class RegistryEvents {
  private readonly emitter = new EventEmitter();

  emitChanged(event: RegistryChangedEvent): void {
    this.emitter.emit(REGISTRY_CHANGED, event);
  }

  onChanged(listener: (event: RegistryChangedEvent) => void): () => void {
    this.emitter.on(REGISTRY_CHANGED, listener);
    return () => this.emitter.off(REGISTRY_CHANGED, listener);
  }
}

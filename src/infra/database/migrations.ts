import { InitialSchema1764090000000 } from 'migrations/1764090000000-initial-schema';
import { RegistrySnapshots1764100000000 } from 'migrations/1764100000000-registry-snapshots';

/** Every migration, in order. Listed explicitly so the same classes run under ts (tests) and compiled js. */
export const MIGRATIONS = [InitialSchema1764090000000, RegistrySnapshots1764100000000];

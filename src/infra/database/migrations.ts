import { InitialSchema1764090000000 } from 'migrations/1764090000000-initial-schema';
import { PromptTemplates1764500000000 } from 'migrations/1764500000000-prompt-templates';
import { Conversations1764500000001 } from 'migrations/1764500000001-conversations';

/** Every migration, in order. Listed explicitly so the same classes run under ts (tests) and compiled js. */
export const MIGRATIONS = [
  InitialSchema1764090000000,
  PromptTemplates1764500000000,
  Conversations1764500000001,
];

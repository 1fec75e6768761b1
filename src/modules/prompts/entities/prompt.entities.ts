import { PromptApiEntity } from 'src/modules/prompts/entities/prompt-api.entity';
import { PromptLabelEntity } from 'src/modules/prompts/entities/prompt-label.entity';
import { PromptTemplateEntity } from 'src/modules/prompts/entities/prompt-template.entity';
import { PromptVersionEntity } from 'src/modules/prompts/entities/prompt-version.entity';

export const PROMPT_ENTITIES = [
  PromptTemplateEntity,
  PromptVersionEntity,
  PromptLabelEntity,
  PromptApiEntity,
];

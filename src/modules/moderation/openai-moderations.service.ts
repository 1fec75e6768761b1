import { Injectable } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { DenyListCheck } from 'src/modules/moderation/checks/deny-list.check';
import { InjectionCheck } from 'src/modules/moderation/checks/injection.check';
import { PiiCheck } from 'src/modules/moderation/checks/pii.check';
import { PII_ENTITIES } from 'src/modules/moderation/checks/pii.detectors';
import { OpenAIModerationResponseDto } from 'src/modules/moderation/dto/moderation.dto';
import { ExternalModerationClient } from 'src/modules/moderation/external-moderation.client';
import { InvocationParent } from 'src/modules/pipeline/internal-invocations.service';
import { ModerationService } from 'src/modules/moderation/moderation.service';
import { PlaceholderVault } from 'src/modules/moderation/placeholder-vault';
import { ModerationCheck } from 'src/modules/moderation/moderation.types';
import { RoutingService } from 'src/modules/routing/routing.service';

export const BUILTIN_MODERATION_MODEL = 'gatehouse-guardrails';

/** Every category the built-in checks report, so each result lists all of them as OpenAI's does. */
const BUILTIN_CATEGORIES = [...PII_ENTITIES.map((e) => `pii/${e}`), 'pii', 'prompt_injection', 'profanity'];

/** What `/v1/moderations` counts as in limit rules that name an endpoint. */
export const MODERATIONS_LIMIT_ENDPOINT = 'moderations';

const MAX_INPUTS = 64;
/** Characters of one request, over all its inputs: the checks' work grows with them (event-loop time). */
export const MODERATION_MAX_TOTAL_CHARS = 200_000;

/** `POST /v1/moderations`: the built-in checks (or a named policy's input checks) in OpenAI's response shape. */
@Injectable()
export class OpenAIModerationsService {
  private readonly builtin: readonly ModerationCheck[] = [
    new PiiCheck({
      name: 'pii',
      action: 'flag',
      mode: 'mask',
      entities: PII_ENTITIES,
      defaultRegion: 'US',
      entropyThreshold: 4.2,
    }),
    new InjectionCheck({ name: 'injection', action: 'flag', threshold: 0.5 }),
    new DenyListCheck({ name: 'profanity', action: 'flag', keywords: [], patterns: [], profanity: true }),
  ];

  constructor(
    private readonly routing: RoutingService,
    private readonly external: ExternalModerationClient,
    private readonly moderation: ModerationService,
  ) {}

  /** `caller`: who asked (a moderation model a named policy calls is charged to them). */
  async moderate(
    body: Record<string, unknown>,
    caller: InvocationParent,
  ): Promise<OpenAIModerationResponseDto> {
    const texts = inputsOf(body.input);
    const model = body.model;
    if (model !== undefined && typeof model !== 'string')
      throw GatewayException.invalid("'model' must be a string.", 'model');
    let checks = this.builtin;
    if (
      model !== undefined &&
      model !== BUILTIN_MODERATION_MODEL &&
      !model.startsWith('omni-moderation') &&
      !model.startsWith('text-moderation')
    ) {
      const named = this.routing.table().moderation.policies.get(model);
      if (!named)
        throw GatewayException.invalid(
          `Unknown moderation model or policy '${model.slice(0, 64)}'.`,
          'model',
        );
      checks = named.input;
    }
    const controller = new AbortController();
    const external = this.external.forCaller(caller);
    const results = [];
    for (const text of texts) {
      const categories: Record<string, boolean> = Object.fromEntries(
        BUILTIN_CATEGORIES.map((c) => [c, false]),
      );
      const scores: Record<string, number> = Object.fromEntries(BUILTIN_CATEGORIES.map((c) => [c, 0]));
      // Every check runs on the original text: a caller asking for a classification wants all categories.
      for (const check of checks) {
        const verdict = await check.run(text, {
          stage: 'input',
          vault: new PlaceholderVault(),
          external,
          signal: controller.signal,
        });
        for (const d of verdict.detections) {
          const key = d.category.replace(/\./g, '/');
          const flagged = verdict.action !== 'allow';
          categories[key] = (categories[key] ?? false) || flagged;
          scores[key] = Math.max(scores[key] ?? 0, d.score ?? verdict.score ?? 1);
          if (key.startsWith('pii/')) {
            categories.pii = categories.pii || flagged;
            scores.pii = Math.max(scores.pii, scores[key]);
          }
        }
        if (check.type === 'injection' && verdict.score !== undefined) {
          scores.prompt_injection = Math.max(scores.prompt_injection, verdict.score);
        }
      }
      results.push({ flagged: Object.values(categories).some(Boolean), categories, category_scores: scores });
    }
    return {
      id: this.moderation.newModerationId(),
      model: typeof model === 'string' ? model : BUILTIN_MODERATION_MODEL,
      results,
    };
  }
}

/**
 * OpenAI accepts a string, an array of strings (one result each), or an array of multimodal parts (one
 * result for the whole input). Image parts cannot be judged by text checks: they are skipped, not refused.
 */
function inputsOf(input: unknown): string[] {
  const fail = () =>
    GatewayException.invalid("'input' must be a string, an array of strings or of content parts.", 'input');
  let texts: string[];
  if (typeof input === 'string') texts = [input];
  else if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string')) {
    texts = input;
  } else if (Array.isArray(input) && input.length > 0) {
    const parts = input.map((item: unknown) => {
      const part = item as { type?: unknown; text?: unknown } | null;
      if (part && typeof part === 'object' && part.type === 'text' && typeof part.text === 'string') {
        return part.text;
      }
      if (part && typeof part === 'object' && part.type === 'image_url') return undefined;
      throw fail();
    });
    texts = [parts.filter((p) => p !== undefined).join('\n')];
  } else throw fail();
  if (texts.length > MAX_INPUTS)
    throw GatewayException.invalid(`At most ${MAX_INPUTS} inputs per request.`, 'input');
  const total = texts.reduce((sum, t) => sum + t.length, 0);
  if (total > MODERATION_MAX_TOTAL_CHARS) {
    throw new GatewayException(
      413,
      GatewayErrorCode.PayloadTooLarge,
      `'input' is limited to ${MODERATION_MAX_TOTAL_CHARS} characters over all inputs (got ${total}).`,
      { param: 'input' },
    );
  }
  return texts;
}

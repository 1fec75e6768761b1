import { Injectable } from '@nestjs/common';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import { PromptApiService } from 'src/modules/prompts/prompt-api.service';
import { PromptService } from 'src/modules/prompts/prompt.service';
import { PromptVersion } from 'src/modules/prompts/prompt.types';

/**
 * Prompt rendering, the first stage that shapes the request: a published prompt API renders its
 * template with the call's variables; a chat endpoint bound to a template (`gatehouse.prompt`) renders
 * it per destination, so a traffic split A/B-tests template versions. Everything after — validation,
 * limits, guardrails, cache — sees the rendered request.
 */
@Injectable()
export class PromptInterceptor extends StageInterceptor {
  constructor(
    private readonly prompts: PromptService,
    private readonly apis: PromptApiService,
  ) {
    super();
  }

  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    const endpoint = ctx.endpoint;
    if (!endpoint || ctx.operation !== 'chat') return next();
    let version: PromptVersion | undefined;
    if (ctx.api) {
      const rendered = this.apis.renderCall(ctx.api.name, ctx.body, endpoint.provider, ctx, endpoint.name);
      ctx.body = rendered.body;
      version = rendered.version;
    } else {
      const applied = this.prompts.apply(endpoint, ctx.body as Record<string, unknown>, ctx);
      ctx.body = applied.body;
      version = applied.version;
    }
    if (version) {
      ctx.prompt = { template: version.template, version: version.version };
      ctx.record.promptVersion = `${version.template}@${version.version}`;
    }
    return next();
  }
}

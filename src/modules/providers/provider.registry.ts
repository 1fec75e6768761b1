import { Injectable } from '@nestjs/common';
import { ProviderAdapter } from 'src/modules/providers/provider-adapter';
import { OpenAIAdapter } from 'src/modules/providers/adapters/openai/openai.adapter';
import { OpenAICompatibleAdapter } from 'src/modules/providers/adapters/openai-compatible/openai-compatible.adapter';
import { AnthropicAdapter } from 'src/modules/providers/adapters/anthropic/anthropic.adapter';
import { BedrockAdapter } from 'src/modules/providers/adapters/bedrock/bedrock.adapter';
import { LiteLLMAdapter } from 'src/modules/providers/adapters/litellm/litellm.adapter';
import { CohereAdapter } from 'src/modules/providers/adapters/cohere/cohere.adapter';
import { DatabricksAdapter } from 'src/modules/providers/adapters/databricks/databricks.adapter';
import { HuggingFaceTgiAdapter } from 'src/modules/providers/adapters/huggingface-tgi/tgi.adapter';
import { RetiredProviderAdapter } from 'src/modules/providers/adapters/retired/retired.adapter';
import { MistralAdapter } from 'src/modules/providers/adapters/mistral/mistral.adapter';
import { MlflowModelServingAdapter } from 'src/modules/providers/adapters/mlflow-model-serving/mlflow-model-serving.adapter';
import { GeminiAdapter } from 'src/modules/providers/adapters/gemini/gemini.adapter';
import { VertexAIAdapter } from 'src/modules/providers/adapters/vertex-ai/vertex-ai.adapter';

/** Looks adapters up by normalised provider id. Adapters are stateless, so one instance serves all targets. */
@Injectable()
export class ProviderRegistry {
  private readonly byProvider = new Map<string, ProviderAdapter>();

  constructor() {
    const adapters: ProviderAdapter[] = [
      new OpenAIAdapter(),
      new OpenAICompatibleAdapter(),
      new AnthropicAdapter(),
      new BedrockAdapter(),
      new MlflowModelServingAdapter(),
      new GeminiAdapter(),
      new VertexAIAdapter(),
      new MistralAdapter(),
      new CohereAdapter(),
      new HuggingFaceTgiAdapter(),
      new DatabricksAdapter(),
      new RetiredProviderAdapter(),
      new LiteLLMAdapter(),
    ];
    for (const adapter of adapters) {
      for (const provider of adapter.providers) this.byProvider.set(provider, adapter);
    }
  }

  get(provider: string): ProviderAdapter | undefined {
    return this.byProvider.get(provider);
  }

  knownProviders(): ReadonlySet<string> {
    return new Set(this.byProvider.keys());
  }
}

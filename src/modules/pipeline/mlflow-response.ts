import {
  CanonicalResponse,
  ChatCompletion,
  Operation,
  TextCompletion,
} from 'src/modules/providers/provider-adapter';

/**
 * MLflow's gateway rebuilds every response from its pydantic models: declared fields only, nulls
 * serialised (`tool_calls: null`, `refusal: null`, all three usage counts), plus `provider` on chat
 * responses (MLflow >= 3.12). Upstream extras such as `system_fingerprint` do not survive.
 */
export function toMlflowResponse(
  op: Operation,
  response: CanonicalResponse,
  provider: string,
): CanonicalResponse {
  if (op === 'embeddings') return response;
  const usage = {
    prompt_tokens: response.usage?.prompt_tokens ?? null,
    completion_tokens: response.usage?.completion_tokens ?? null,
    total_tokens: response.usage?.total_tokens ?? null,
  };
  if (op === 'completions') {
    const completion = response as TextCompletion;
    return {
      id: completion.id,
      object: 'text_completion',
      created: completion.created,
      model: completion.model,
      choices: completion.choices.map((choice) => ({
        index: choice.index,
        text: choice.text,
        finish_reason: choice.finish_reason ?? null,
      })),
      usage,
    };
  }
  const chat = response as ChatCompletion;
  return {
    id: chat.id,
    object: 'chat.completion',
    created: chat.created,
    model: chat.model,
    choices: chat.choices.map((choice) => ({
      index: choice.index,
      message: {
        role: choice.message.role,
        content: choice.message.content ?? null,
        tool_calls: choice.message.tool_calls ?? null,
        refusal: choice.message.refusal ?? null,
      },
      finish_reason: choice.finish_reason ?? null,
    })),
    usage,
    provider,
  };
}

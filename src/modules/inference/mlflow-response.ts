import { CanonicalResponse, ChatCompletion, Operation } from 'src/modules/providers/provider-adapter';

/**
 * MLflow's gateway answers with its pydantic response models, which serialise every declared field,
 * null or not (`tool_calls: null`, `refusal: null`, all three usage counts).
 */
export function toMlflowResponse(op: Operation, response: CanonicalResponse): CanonicalResponse {
  if (op !== 'chat') return response;
  const chat = response as ChatCompletion;
  return {
    ...chat,
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
    usage: {
      prompt_tokens: chat.usage?.prompt_tokens ?? null,
      completion_tokens: chat.usage?.completion_tokens ?? null,
      total_tokens: chat.usage?.total_tokens ?? null,
    },
  };
}

/** Emitted whenever a chat request's context was counted and fitted (the usage ledger records it). */
export const CONTEXT_FITTED = 'context.fitted';

export class ContextFittedEvent {
  constructor(
    readonly requestId: string,
    readonly endpoint: string,
    readonly conversationId: string | null,
    /** Prompt tokens sent (tiktoken for OpenAI models, the documented approximation otherwise). */
    readonly promptTokens: number,
    readonly windowTokens: number,
    /** Stored turns left out of this request (dropped or covered by the summary). */
    readonly droppedTurns: number,
    /** Whether the summariser endpoint was called for this request. */
    readonly summarized: boolean,
    /** Tokens removed by whitespace/duplicate compression. */
    readonly tokensSaved: number,
  ) {}
}

import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

export class ConversationException extends GatewayException {
  static notFound(): ConversationException {
    return new ConversationException(404, GatewayErrorCode.ConversationNotFound, 'Conversation not found.', {
      param: 'conversation_id',
    });
  }

  static contextLengthExceeded(tokens: number, budget: number, window: number): ConversationException {
    return new ConversationException(
      400,
      GatewayErrorCode.ContextLengthExceeded,
      `This model's maximum context length is ${window} tokens; the system prompt and new messages alone need ` +
        `${tokens} tokens, more than the ${budget} tokens available for the prompt. Shorten the messages.`,
      { param: 'messages' },
    );
  }

  static badId(message: string): ConversationException {
    return new ConversationException(400, GatewayErrorCode.InvalidRequest, message, {
      param: 'conversation_id',
    });
  }
}

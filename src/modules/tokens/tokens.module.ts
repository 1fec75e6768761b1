import { Module } from '@nestjs/common';
import { TokenCounter } from 'src/modules/tokens/token-counter';

/** Prompt token counting (limits reserve with it, conversations fit windows with it). */
@Module({ providers: [TokenCounter], exports: [TokenCounter] })
export class TokensModule {}

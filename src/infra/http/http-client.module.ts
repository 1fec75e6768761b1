import { Global, Module } from '@nestjs/common';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';

/**
 * The one UpstreamHttpClient of the process: it owns the two undici Agents (trusted and allow-listed), so
 * UPSTREAM_CONNECTIONS caps each pool once for the whole gateway. Feature modules inject it; none of
 * them lists it as a provider of its own (that would build another pair of Agents).
 */
@Global()
@Module({
  providers: [UpstreamHttpClient],
  exports: [UpstreamHttpClient],
})
export class HttpClientModule {}

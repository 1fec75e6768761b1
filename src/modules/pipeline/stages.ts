import { EndpointAccessGuard } from 'src/modules/auth/endpoint-access.guard';
import { CacheInterceptor } from 'src/modules/cache/cache.interceptor';
import { ConversationInterceptor } from 'src/modules/conversations/conversation.interceptor';
import { LimitsInterceptor } from 'src/modules/limits/limits.interceptor';
import { RateLimitGuard } from 'src/modules/limits/rate-limit.guard';
import { ModerationInterceptor } from 'src/modules/moderation/moderation.interceptor';
import { TracingInterceptor } from 'src/modules/observability/tracing/tracing.interceptor';
import { InvocationGuard } from 'src/modules/pipeline/invocation.guard';
import { RagInterceptor } from 'src/modules/knowledge/rag.interceptor';
import { SemanticCacheInterceptor } from 'src/modules/knowledge/semantic-cache.interceptor';
import { RequestInterceptor } from 'src/modules/pipeline/request.interceptor';
import { PromptInterceptor } from 'src/modules/prompts/prompt.interceptor';
import { StoredResponsesInterceptor } from 'src/modules/responses/stored-responses.interceptor';
import { ProductLifecycleGuard } from 'src/modules/products/product-lifecycle.guard';

/*
 * The request pipeline, declared once. Every inference entry point runs these, in this order, through
 * `@Invocation()`: after the global authentication (passport: API key or JWT) and permission guards,
 *
 *   guards        1 InvocationGuard        context and record; the endpoint the caller names
 *                 2 ProductLifecycleGuard  API products: Deprecation/Sunset headers, 410 once retired
 *                 3 EndpointAccessGuard    grants, key scopes, subscriptions; a route's destination
 *                 4 RateLimitGuard         request-rate limits (@nestjs/throttler, exact across replicas)
 *   interceptor   5 ResponseInterceptor    the edge: runs the stages below, then sets the headers they
 *                                          collected and writes the answer in the surface's shape
 *   stages        6 TracingInterceptor     the invocation span (GenAI attributes)
 *                 7 RagInterceptor         RAG endpoints: retrieval, passages fitted, template rendered
 *                 8 PromptInterceptor      template rendering (prompt APIs, template-bound endpoints)
 *                 9 RequestInterceptor     validation into the canonical request / scoring payload
 *                10 StoredResponsesInterceptor  Responses API: previous_response_id's turns; the answer stored
 *                11 ConversationInterceptor  stored context fitted to the window; the turn stored
 *                12 LimitsInterceptor      token limits, concurrency caps, USD budgets: reserve, settle
 *                13 ModerationInterceptor  guardrails on the input and the output
 *                14 CacheInterceptor       exact-match cache, single-flight, stream replay
 *                15 SemanticCacheInterceptor  similar messages, same parameters and team (pgvector)
 *   handler         InvocationDispatcher the upstream call (routing: retries, fallbacks, attempt spans)
 *
 * Stages 6–15 are Nest interceptors (each can be applied alone with `@UseInterceptors`), but the edge
 * runs them as one chain of `around(ctx, next)` calls instead of registering ten interceptors: every
 * interceptor Nest runs costs an RxJS pipeline per request (defer, mergeAll, an AsyncResource, the
 * router's lastValueFrom), which measured as a third more CPU per request than the gateway's own work.
 * Calls the gateway makes on a caller's behalf (guardrail judge, moderation model, summariser) run
 * stages 6, 12 and 14 through InternalInvocations, in the same order.
 */
export const INVOCATION_GUARDS = [
  InvocationGuard,
  ProductLifecycleGuard,
  EndpointAccessGuard,
  RateLimitGuard,
] as const;

export const INVOCATION_STAGES = [
  TracingInterceptor,
  RagInterceptor,
  PromptInterceptor,
  RequestInterceptor,
  StoredResponsesInterceptor,
  ConversationInterceptor,
  LimitsInterceptor,
  ModerationInterceptor,
  CacheInterceptor,
  SemanticCacheInterceptor,
] as const;

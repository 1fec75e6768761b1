import type { IncomingHttpHeaders } from 'node:http';
import type { EndpointEntry } from 'src/modules/routing/route-table';
import type { RuleCondition, StickyKey } from 'src/modules/routing/traffic/traffic-policy';

/** What a route strategy may look at: who calls, with which headers and body. */
export interface PickContext {
  principalId?: string;
  teamId?: string | null;
  headers?: IncomingHttpHeaders;
  body?: Record<string, unknown>;
}

export interface ContentRule<E = EndpointEntry> {
  when: RuleCondition;
  endpoint: E;
}

/** How a traffic route chooses; absent on a plain MLflow route (weighted random). */
export interface RouteStrategy<E = EndpointEntry> {
  sticky: StickyKey | undefined;
  rules: readonly ContentRule<E>[];
}

/** What a route strategy needs of a route: LLM routes and predict routes alike. */
export interface SplitRoute<E extends { name: string }> {
  name: string;
  destinations: readonly Destination<E>[];
  strategy?: RouteStrategy<E>;
}

export interface Destination<E> {
  endpoint: E;
  upTo: number;
  percentage: number;
}

/**
 * The destination of one request: the first content rule that matches (and that the caller may
 * reach), else a weighted draw — random, or from a hash of the sticky key, so the same caller lands on
 * the same variant for as long as the weights stay the same (and mostly does when they change: the
 * hash maps to a fixed point in [0, 100), and only callers whose point changes band move).
 */
export function pickDestination<E extends { name: string }>(
  route: SplitRoute<E>,
  eligible: readonly Destination<E>[],
  allowed: ((endpoint: string) => boolean) | null,
  ctx: PickContext,
  random: () => number,
): E {
  const strategy = route.strategy;
  if (strategy) {
    let tokens: number | undefined;
    for (const rule of strategy.rules) {
      if (allowed && !allowed(rule.endpoint.name)) continue;
      if (matches(rule.when, ctx, () => (tokens ??= estimatePromptTokens(ctx.body)))) return rule.endpoint;
    }
  }
  const key = strategy?.sticky ? stickyValue(strategy.sticky, ctx) : undefined;
  const point = key === undefined ? random() : stickyPoint(route.name, key);
  return weighted(eligible, point);
}

/** A draw in [0, 1) over the destinations' percentages (renormalised over the eligible ones). */
export function weighted<E>(eligible: readonly Destination<E>[], point: number): E {
  let total = 0;
  for (const d of eligible) total += d.percentage;
  let draw = point * total;
  for (const destination of eligible) {
    draw -= destination.percentage;
    if (draw < 0) return destination.endpoint;
  }
  return eligible[eligible.length - 1].endpoint;
}

function stickyValue(sticky: StickyKey, ctx: PickContext): string | undefined {
  switch (sticky.kind) {
    case 'principal':
      return ctx.principalId;
    case 'team':
      return ctx.teamId ?? undefined;
    case 'user':
      return scalar(ctx.body?.user);
    case 'header': {
      const value = ctx.headers?.[sticky.name];
      return Array.isArray(value) ? value[0] : value;
    }
    case 'metadata': {
      const metadata = ctx.body?.metadata;
      return isRecord(metadata) ? scalar(metadata[sticky.name]) : undefined;
    }
  }
}

/** A stable point in [0, 1) for (route, key): FNV-1a with a murmur3 finaliser, 10,000 buckets. */
export function stickyPoint(routeName: string, key: string): number {
  let hash = 0x811c9dc5;
  const text = `${routeName}\u0000${key}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return ((hash >>> 0) % 10_000) / 10_000;
}

function matches(when: RuleCondition, ctx: PickContext, tokens: () => number): boolean {
  const metadata = isRecord(ctx.body?.metadata) ? ctx.body.metadata : undefined;
  for (const [name, values] of when.metadata) {
    const value = scalar(metadata?.[name]);
    if (value === undefined || !values.includes(value)) return false;
  }
  for (const [name, values] of when.headers) {
    const raw = ctx.headers?.[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || !values.includes(value)) return false;
  }
  for (const [path, values] of when.fields) {
    const value = scalar(lookup(ctx.body, path));
    if (value === undefined || !values.includes(value)) return false;
  }
  if (when.minPromptTokens !== undefined && tokens() < when.minPromptTokens) return false;
  if (when.maxPromptTokens !== undefined && tokens() > when.maxPromptTokens) return false;
  return true;
}

/**
 * A cheap prompt-size estimate (≈4 characters per token, the usual rule of thumb for English with
 * BPE tokenizers): the text of `messages`, `prompt` or `input`. Only computed when a rule asks.
 */
export function estimatePromptTokens(body: Record<string, unknown> | undefined): number {
  if (!body) return 0;
  let chars = 0;
  const add = (value: unknown): void => {
    if (typeof value === 'string') chars += value.length;
    else if (Array.isArray(value)) value.forEach(add);
    else if (isRecord(value)) {
      if (typeof value.text === 'string') chars += value.text.length;
      else if (value.content !== undefined) add(value.content);
    }
  };
  add(body.messages);
  add(body.prompt);
  add(body.input);
  return Math.ceil(chars / 4);
}

function lookup(body: unknown, path: readonly string[]): unknown {
  let current = body;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

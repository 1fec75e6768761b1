import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

export const MAX_JSON_DEPTH = 64;

/**
 * Measures nesting depth without recursion, before JSON.parse ever builds a deep structure that a
 * later recursive walker (validation, JSON.stringify) would overflow on. Returns as soon as the
 * limit is exceeded.
 */
export function exceedsJsonDepth(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  // Nesting deeper than maxDepth needs more than maxDepth opening brackets; counting them with the native
  // indexOf is far cheaper than the character walk below, which most bodies then never need.
  if (!hasMoreOpenings(text, maxDepth)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

function hasMoreOpenings(text: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at !== -1; at = text.indexOf(bracket, at + 1)) {
      if (++count > limit) return true;
    }
  }
  return false;
}

/** Keys that reach an object's prototype when a decoded body is merged or assigned into another object. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** A body can only hold such a key if it spells one of them or uses an escape (`"\\u005f_proto__"`). */
const MAY_SPELL_FORBIDDEN_KEY = /__proto__|constructor|prototype|\\u/;

/** Looks at the decoded keys (escapes resolved), at every depth, without recursion. */
function forbiddenKeyIn(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) {
      for (const element of item as unknown[])
        if (element !== null && typeof element === 'object') stack.push(element);
    } else if (item !== null && typeof item === 'object') {
      for (const key of Object.keys(item)) {
        if (FORBIDDEN_KEYS.has(key)) return true;
        const child = (item as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') stack.push(child);
      }
    }
  }
  return false;
}

const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

function hasIllFormedString(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return true;
    } else if (Array.isArray(item)) {
      stack.push(...(item as unknown[]));
    } else if (item !== null && typeof item === 'object') {
      for (const key of Object.keys(item)) {
        if (!key.isWellFormed()) return true;
        stack.push((item as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/**
 * Parses a JSON request body with the gateway's hard limits: depth ≤ 64, no prototype keys, only
 * well-formed Unicode, and a JSON object at the top level.
 */
export function parseJsonBody(text: string): Record<string, unknown> {
  if (text.length === 0) {
    throw new GatewayException(
      400,
      GatewayErrorCode.InvalidJson,
      'Request body is empty; expected a JSON object.',
    );
  }
  if (exceedsJsonDepth(text)) {
    throw new GatewayException(
      400,
      GatewayErrorCode.InvalidJson,
      `Request body is nested deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof SyntaxError ? `: ${error.message}` : '';
    throw new GatewayException(400, GatewayErrorCode.InvalidJson, `Request body is not valid JSON${detail}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GatewayException(400, GatewayErrorCode.InvalidJson, 'Request body must be a JSON object.');
  }
  if (MAY_SPELL_FORBIDDEN_KEY.test(text) && forbiddenKeyIn(parsed)) {
    throw new GatewayException(
      400,
      GatewayErrorCode.InvalidJson,
      'Request body contains a forbidden key (__proto__, constructor or prototype).',
    );
  }
  if (LONE_SURROGATE_ESCAPE.test(text) && hasIllFormedString(parsed)) {
    throw new GatewayException(
      400,
      GatewayErrorCode.InvalidJson,
      'Request body contains a lone UTF-16 surrogate; strings must be well-formed Unicode.',
    );
  }
  return parsed as Record<string, unknown>;
}

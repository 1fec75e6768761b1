/** Emitted after any admin change to templates, labels or published APIs. */
export const PROMPTS_CHANGED = 'prompts.changed';
/** Emitted for every request that a template shaped; the usage ledger records template and version. */
export const PROMPT_RENDERED = 'prompt.rendered';

export class PromptsChangedEvent {
  constructor(readonly template: string | null) {}
}

export class PromptRenderedEvent {
  constructor(
    readonly requestId: string,
    /** The endpoint that served the request (after any traffic split). */
    readonly endpoint: string,
    readonly template: string,
    readonly version: number,
    /** The label the endpoint or API selected by, when it did not pin a version. */
    readonly label: string | null,
    /** `endpoint` (a gateway.yaml binding) or `api` (a published prompt API). */
    readonly via: 'endpoint' | 'api',
    readonly principalId: string | null,
    readonly teamId: string | null,
  ) {}
}

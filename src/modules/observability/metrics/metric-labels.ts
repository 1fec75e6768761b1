/** What label bounding needs of the live route table (RouteTable satisfies it). */
export interface KnownNames {
  get(name: string): unknown;
  getPredict(name: string): unknown;
}

/** Label value for anything outside the bounded set (unknown endpoint, team past the cap …). */
export const OTHER = 'other';
/** Label value when a request had no such thing (no team, no endpoint resolved). */
export const NONE = 'none';

const MAX_LABEL_LENGTH = 128;

/**
 * Keeps every label value bounded: endpoint and target names only when the current route table knows
 * them, team names only for the first `maxTeams` teams seen, everything else folds into `other`. Each
 * call is a couple of Map lookups (no allocation on the warm path).
 */
export class MetricLabels {
  private readonly teams = new Map<string, string>();

  constructor(
    private readonly table: () => KnownNames,
    private readonly teamName: (teamId: string) => string | undefined,
    private readonly maxTeams: number,
  ) {}

  endpoint(name: string | undefined): string {
    if (!name) return NONE;
    if (name.length > MAX_LABEL_LENGTH) return OTHER;
    const table = this.table();
    return table.get(name) !== undefined || table.getPredict(name) !== undefined ? name : OTHER;
  }

  /** `endpoint`, `endpoint#target` or `model@version`: known when its endpoint part is. */
  target(target: string | undefined): string {
    if (!target) return NONE;
    if (target.length > MAX_LABEL_LENGTH) return OTHER;
    const cut = target.search(/[#@]/);
    const endpoint = cut === -1 ? target : target.slice(0, cut);
    return this.endpoint(endpoint) === endpoint ? target : OTHER;
  }

  team(teamId: string | undefined | null): string {
    if (!teamId) return NONE;
    const known = this.teams.get(teamId);
    if (known !== undefined) return known;
    const name = this.teamName(teamId);
    // An id the gateway does not know (deleted team) is not remembered: it stays `other`.
    if (name === undefined) return OTHER;
    const label = this.teams.size < this.maxTeams && name.length <= MAX_LABEL_LENGTH ? name : OTHER;
    this.teams.set(teamId, label);
    return label;
  }
}

/** `2xx` … `5xx`; a response the client abandoned is `cancelled`. */
export function statusClass(status: number | undefined, cancelled = false): string {
  if (cancelled) return 'cancelled';
  if (status === undefined || status < 100 || status > 599) return OTHER;
  return STATUS_CLASSES[Math.floor(status / 100) - 1];
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

const ATTEMPT_ERRORS = new Set(['timeout', 'connect', 'aborted', 'protocol', 'rejected', 'status']);

/** An upstream attempt's result: the status class when a status arrived, else the error kind. */
export function attemptResult(status: number | undefined, error: string | undefined): string {
  if (error && error !== 'status' && error !== 'protocol') return ATTEMPT_ERRORS.has(error) ? error : OTHER;
  if (status !== undefined) return error === 'protocol' ? 'protocol' : statusClass(status);
  return error && ATTEMPT_ERRORS.has(error) ? error : OTHER;
}

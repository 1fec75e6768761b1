let instances = 0;

/** A passport strategy name unique to this strategy object (passport keeps one registry per process). */
export function strategyName(kind: string): string {
  instances += 1;
  return `gatehouse-${kind}#${instances}`;
}

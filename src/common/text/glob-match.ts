/**
 * Endpoint-name globs: `*` matches any run of characters (runs of `*` act as one), everything else is
 * literal. Matched without regular expressions: the literal pieces between stars are placed leftmost
 * with `indexOf`, which is optimal for `*`-only globs, so a match costs O(pattern × name) at worst and
 * never backtracks. A backtracking regex built from the same glob (`*` → `.*`) takes exponential time
 * on a pattern of many stars that cannot match.
 */
export function globMatch(pattern: string, name: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === name;
  const pieces = pattern.split('*');
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  if (name.length < head.length + tail.length) return false;
  if (!name.startsWith(head) || !name.endsWith(tail)) return false;
  const end = name.length - tail.length;
  let at = head.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i];
    if (piece.length === 0) continue;
    const found = name.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

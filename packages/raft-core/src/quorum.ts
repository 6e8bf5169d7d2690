/** The smallest number of members that makes a majority of `n`. */
export function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The highest index that a majority of the `count` members has matched: sort `matches`
 * descending in place, take the quorum-th. The caller reuses `matches` between calls.
 */
export function majorityIndex(matches: number[], count: number): number {
  // Insertion sort: clusters are small (≤ 9 members in practice), and this avoids the
  // comparator closure and the allocation of Array.prototype.sort.
  for (let i = 1; i < count; i++) {
    const v = matches[i] as number;
    let j = i - 1;
    while (j >= 0 && (matches[j] as number) < v) {
      matches[j + 1] = matches[j] as number;
      j--;
    }
    matches[j + 1] = v;
  }
  return matches[quorum(count) - 1] ?? 0;
}

/**
 * How a leader replicates to one follower.
 * - `Probe`: the leader does not know where the follower's log matches; it sends from `next`
 *   and waits for the answer before moving `next`.
 * - `Replicate`: the follower is known to match up to `match`; the leader streams new entries and
 *   moves `next` as soon as it sends them.
 */
export const ProgressState = { Probe: 0, Replicate: 1 } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/** What the leader knows of one member's log. */
export interface Progress {
  /** The highest index known to be replicated on the member. */
  match: number;
  /** The index of the next entry to send to the member. */
  next: number;
  state: ProgressState;
  /** Whether the member was heard from since the last check-quorum round. */
  recentActive: boolean;
}

export function newProgress(next: number): Progress {
  return { match: 0, next, state: ProgressState.Probe, recentActive: false };
}

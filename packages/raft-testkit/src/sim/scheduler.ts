/**
 * The simulator's clock: a queue of events ordered by virtual time. Two events due at the same
 * instant run in the order they were scheduled, so a run depends on its seed and nothing else.
 */
export class EventQueue<E> {
  private times: number[] = [];
  private seqs: number[] = [];
  private events: E[] = [];
  private nextSeq = 0;
  /** The time of the event popped last: the simulation's present. */
  now = 0;

  get size(): number {
    return this.events.length;
  }

  /** Schedules `event` at virtual time `at` (never before the present). */
  push(at: number, event: E): void {
    if (at < this.now) {
      throw new RangeError(`cannot schedule an event at ${at}, before the present ${this.now}`);
    }
    const seq = this.nextSeq++;
    let k = this.events.length;
    this.times.push(at);
    this.seqs.push(seq);
    this.events.push(event);
    // Binary heap: sift the new event up.
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.before(at, seq, parent)) {
        break;
      }
      this.move(parent, k);
      k = parent;
    }
    this.place(k, at, seq, event);
  }

  /** Removes the earliest event and advances the present to its time. */
  pop(): E | undefined {
    const n = this.events.length;
    if (n === 0) {
      return undefined;
    }
    const top = this.events[0] as E;
    this.now = this.times[0] as number;
    const at = this.times[n - 1] as number;
    const seq = this.seqs[n - 1] as number;
    const event = this.events[n - 1] as E;
    this.times.pop();
    this.seqs.pop();
    this.events.pop();
    if (n > 1) {
      // Sift the former last event down from the root.
      let k = 0;
      const size = n - 1;
      for (;;) {
        const left = 2 * k + 1;
        if (left >= size) {
          break;
        }
        const right = left + 1;
        const child =
          right < size && this.before(this.times[right] as number, this.seqs[right] as number, left)
            ? right
            : left;
        if (this.before(at, seq, child)) {
          break;
        }
        this.move(child, k);
        k = child;
      }
      this.place(k, at, seq, event);
    }
    return top;
  }

  /** Whether (at, seq) is due before the event at heap slot `k`. */
  private before(at: number, seq: number, k: number): boolean {
    const t = this.times[k] as number;
    return at < t || (at === t && seq < (this.seqs[k] as number));
  }

  private move(from: number, to: number): void {
    this.place(to, this.times[from] as number, this.seqs[from] as number, this.events[from] as E);
  }

  private place(k: number, at: number, seq: number, event: E): void {
    this.times[k] = at;
    this.seqs[k] = seq;
    this.events[k] = event;
  }
}

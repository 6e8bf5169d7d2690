import type { Ticker } from '@tinyraft/raft-core';

/** Real time for a `RaftNode`: one tick every `ms` milliseconds. */
export class IntervalTicker implements Ticker {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly ms: number) {}

  start(onTick: () => void): void {
    this.stop();
    this.timer = setInterval(onTick, this.ms);
  }

  stop(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

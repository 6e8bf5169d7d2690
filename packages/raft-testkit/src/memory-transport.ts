import type { Message, Transport } from '@tinyraft/raft-core';

/**
 * An in-memory network for `Transport` users (such as `RaftNode`): every transport it hands out
 * queues what it sends, and `flush()` delivers the queue in order until it is empty. Nothing is
 * delivered until `flush()`, so a test decides exactly when messages move.
 */
export class MemoryTransportHub {
  private readonly handlers = new Map<number, (m: Message) => void>();
  private readonly queue: Message[] = [];
  private readonly down = new Set<number>();
  /** Messages delivered so far. */
  delivered = 0;
  /** Messages dropped because an end was isolated, closed or unknown. */
  dropped = 0;

  /** The transport of node `id`. */
  transport(id: number): Transport {
    return {
      send: (messages) => {
        for (const m of messages) {
          this.queue.push(m);
        }
      },
      onMessage: (handler) => {
        this.handlers.set(id, handler);
        this.down.delete(id);
      },
      close: async () => {
        this.handlers.delete(id);
      },
    };
  }

  /** Cuts node `id` off: everything to or from it is dropped until `heal`. */
  isolate(id: number): void {
    this.down.add(id);
  }

  heal(): void {
    this.down.clear();
  }

  /** Delivers queued messages, and whatever they cause, until the network is quiet. */
  flush(limit = 1_000_000): void {
    for (let n = 0; this.queue.length > 0; n++) {
      if (n >= limit) {
        throw new Error(`network did not go quiet after ${limit} messages`);
      }
      const m = this.queue.shift() as Message;
      const handler = this.handlers.get(m.to);
      if (handler === undefined || this.down.has(m.to) || this.down.has(m.from)) {
        this.dropped++;
        continue;
      }
      this.delivered++;
      handler(m);
    }
  }
}

/** A `Ticker` driven by hand: `tick(n)` calls the node's tick callback n times. */
export class ManualTicker {
  private onTick: (() => void) | undefined;

  start(onTick: () => void): void {
    this.onTick = onTick;
  }

  stop(): void {
    this.onTick = undefined;
  }

  get running(): boolean {
    return this.onTick !== undefined;
  }

  tick(n = 1): void {
    for (let i = 0; i < n && this.onTick !== undefined; i++) {
      this.onTick();
    }
  }
}

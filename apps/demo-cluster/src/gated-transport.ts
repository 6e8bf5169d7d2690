import { type Message, MessageType, type Transport } from '@tinyraft/raft-core';

/** Messages that only pass between a leader and its followers. */
const leaderTraffic: ReadonlySet<number> = new Set([
  MessageType.MsgAppend,
  MessageType.MsgHeartbeat,
  MessageType.MsgSnapshot,
  MessageType.MsgAppendResponse,
  MessageType.MsgHeartbeatResponse,
]);

/**
 * Wraps a node's transport with a switch that cuts the node off from its peers (everything in
 * and out is dropped, as a network partition would), and notes when leader traffic last arrived
 * so the views can show how fresh a node's contact with its leader (or followers) is.
 */
export class GatedTransport implements Transport {
  isolated = false;
  /** Wall-clock ms of the last leader↔follower message received; 0 = none yet. */
  lastHeartbeatAt = 0;

  constructor(private readonly inner: Transport) {}

  send(messages: readonly Message[]): void {
    if (!this.isolated) {
      this.inner.send(messages);
    }
  }

  onMessage(handler: (m: Message) => void): void {
    this.inner.onMessage((m) => {
      if (this.isolated) {
        return;
      }
      if (leaderTraffic.has(m.msgType)) {
        this.lastHeartbeatAt = Date.now();
      }
      handler(m);
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

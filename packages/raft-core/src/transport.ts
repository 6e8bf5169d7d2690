import type { Message } from './message.js';

/**
 * How a node's messages reach its peers. raft-core never calls a transport itself: a runtime
 * (such as `RaftNode`) hands it the messages of each `Ready` and feeds what it receives to
 * `RawNode.step`. A transport may drop, delay, duplicate or reorder messages; Raft tolerates all
 * of those. It must not alter them.
 */
export interface Transport {
  /** Sends a batch of messages; each goes to `m.to`. Must not throw for an unreachable peer. */
  send(messages: readonly Message[]): void;
  /** Sets the one handler that receives every inbound message addressed to this node. */
  onMessage(handler: (m: Message) => void): void;
  /** Stops sending and receiving and releases every resource. */
  close(): Promise<void>;
}

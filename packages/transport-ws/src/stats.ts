import type { FrameErrorReason } from './codec.js';

/**
 * Why an inbound frame from an authenticated peer was dropped. Besides the codec's reasons:
 * `not-binary` (a text frame), `wrong-to` (a message for another node), `wrong-from` (a message
 * claiming another sender than the authenticated peer), `no-handler` (nothing registered with
 * `onMessage` yet), `handler-error` (the handler threw).
 */
export type InboundDropReason =
  | FrameErrorReason
  | 'not-binary'
  | 'wrong-to'
  | 'wrong-from'
  | 'no-handler'
  | 'handler-error';

/**
 * Why an outbound message was dropped: `unknown-peer` (no URL for `to`), `not-connected` (no
 * authenticated connection to it right now, or the transport is closed), `backpressure` (too
 * many bytes already waiting on its socket), `too-large` (encodes to more than `maxFrameBytes`),
 * `invalid` (not a well-formed message; the codec refuses it), `not-from-us` (its `from` is not
 * this node: the peer would take it for impersonation, as it would a forwarded
 * `MsgTransferLeader` on behalf of another member).
 */
export type OutboundDropReason =
  | 'unknown-peer'
  | 'not-from-us'
  | 'not-connected'
  | 'backpressure'
  | 'too-large'
  | 'invalid';

/** Counters since the transport was created, plus the current connections. */
export interface TransportStats {
  /** Frames of raft messages written to peers, and their bytes. */
  framesSent: number;
  bytesSent: number;
  messagesSent: number;
  /** Frames received on authenticated inbound connections (good and bad), and their bytes. */
  framesReceived: number;
  bytesReceived: number;
  /** Messages handed to the `onMessage` handler. */
  messagesDelivered: number;
  /** Dropped inbound frames by reason; `handler-error` counts messages (the rest are delivered). */
  droppedInbound: Record<InboundDropReason, number>;
  /** Dropped outbound messages, by reason. */
  droppedOutbound: Record<OutboundDropReason, number>;
  /** Outbound connection attempts after the first one to each peer. */
  reconnects: number;
  /** Handshakes that failed in either direction (wrong secret, unknown id, malformed, timeout). */
  authFailures: number;
  /** Authenticated connections closed with 1008 for sending too many bad frames. */
  policyCloses: number;
  /** Peers with an authenticated outbound connection, ascending. */
  connectedPeers: number[];
  /** Inbound connections open right now, authenticated or not. */
  inboundConnections: number;
}

export function emptyStats(): TransportStats {
  return {
    framesSent: 0,
    bytesSent: 0,
    messagesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    messagesDelivered: 0,
    droppedInbound: {
      'bad-magic': 0,
      'bad-version': 0,
      truncated: 0,
      'trailing-bytes': 0,
      'bad-field': 0,
      'too-large': 0,
      'not-binary': 0,
      'wrong-to': 0,
      'wrong-from': 0,
      'no-handler': 0,
      'handler-error': 0,
    },
    droppedOutbound: {
      'unknown-peer': 0,
      'not-from-us': 0,
      'not-connected': 0,
      backpressure: 0,
      'too-large': 0,
      invalid: 0,
    },
    reconnects: 0,
    authFailures: 0,
    policyCloses: 0,
    connectedPeers: [],
    inboundConnections: 0,
  };
}

export {
  DEFAULT_MAX_FRAME_BYTES,
  decodeMessage,
  decodeMessages,
  encodeMessage,
  encodeMessages,
  FrameError,
  type FrameErrorReason,
  WIRE_VERSION,
} from './codec.js';
export type { InboundDropReason, OutboundDropReason, TransportStats } from './stats.js';
export {
  type ReconnectOptions,
  TransportOptionsError,
  WebSocketTransport,
  type WebSocketTransportOptions,
} from './transport.js';

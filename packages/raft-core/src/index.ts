export * from '@tinyraft/raft-log';
export type { Config } from './config.js';
export { ConfigError, MalformedMessageError, ProposalDroppedError } from './errors.js';
export { RaftLog } from './log.js';
export { type LogFields, type Logger, silentLogger } from './logger.js';
export { type Message, MessageType, message, messageTypeName, None } from './message.js';
export {
  RaftNode,
  type RaftNodeEvents,
  type RaftNodeOptions,
  type RaftNodeStatus,
  type Ticker,
} from './node.js';
export { type Progress, ProgressState } from './progress.js';
export { Raft, type SoftState, StateType } from './raft.js';
export { RawNode, type Ready } from './rawnode.js';
export type { Transport } from './transport.js';
export { isLocalMessage, validateMessage } from './validate.js';

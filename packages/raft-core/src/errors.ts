/** A `Config` that cannot describe a working node. The message says what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A proposal that this node cannot accept (it is not the leader). Nothing was appended. */
export class ProposalDroppedError extends Error {
  override name = 'ProposalDroppedError';
}

/**
 * A message that is not well formed (unknown type, a number that is not a non-negative integer, a
 * missing field, entries that do not follow `index`, a local-only message from the network) or that
 * no correct peer could send. `step` throws it before changing any state.
 */
export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError';
}

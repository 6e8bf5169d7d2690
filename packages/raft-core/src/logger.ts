/** Structured context for one log line: plain values only, so any logger can print them. */
export type LogFields = Record<string, unknown>;

/**
 * Where tinyraft reports what it refused or noticed. The call shape is pino's, `(fields, msg)`,
 * which `console` prints as well, so `console`, a pino logger or a thin adapter all fit.
 */
export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
}

/** A logger that drops everything: the default wherever a logger is optional. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * The devnet services' logging: a pino-like logger (`{info, warn, error}` taking a fields object and a
 * message) or a plain function, so the supervisor can hand each service its pino child and a test a
 * collecting array.
 */

/** Fields attached to one log line (always the deal ID when there is one). */
export type LogFields = Record<string, unknown>

/** A pino-like logger. */
export interface PinoLikeLogger {
  info(fields: LogFields, message: string): void
  warn(fields: LogFields, message: string): void
  error(fields: LogFields, message: string): void
}

/** A log line's severity. */
export type LogLevel = 'info' | 'warn' | 'error'

/** A logging function. */
export type LogFunction = (level: LogLevel, message: string, fields: LogFields) => void

/** What a service accepts as its logger. */
export type ServiceLogger = PinoLikeLogger | LogFunction

/** The one shape the services log through. */
export type Log = (level: LogLevel, message: string, fields?: LogFields) => void

/** Turns a service's `logger` option into a {@link Log}; no logger discards every line. */
export function toLog(logger: ServiceLogger | undefined, base: LogFields = {}): Log {
  if (logger === undefined) return () => undefined
  if (typeof logger === 'function') {
    return (level, message, fields = {}) => {
      logger(level, message, {...base, ...fields})
    }
  }
  return (level, message, fields = {}) => {
    logger[level]({...base, ...fields}, message)
  }
}

/** The message of anything thrown, for a log line or a Result's `error`. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

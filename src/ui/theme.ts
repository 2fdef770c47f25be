/**
 * Colour, decided once. chalk does not honour NO_COLOR by itself, so it is checked here; colour is
 * also off whenever the stream is not a terminal.
 */
import {Chalk, type ChalkInstance} from 'chalk'

/** Whether to colour output written to `stream`. */
export function colorEnabled(
  stream: {isTTY?: boolean},
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true
}

/** A chalk instance for `stream` (level 0 when colour is off). */
export function themeFor(stream: {isTTY?: boolean}): ChalkInstance {
  return new Chalk({level: colorEnabled(stream) ? 1 : 0})
}

/**
 * Catching the LilypadError a call throws, for assertions on its code, message and hints.
 */
import {type LilypadError, isLilypadError} from '../../src/core/errors/index.js'

/** Runs `fn` and returns the LilypadError it throws; anything else (or nothing) fails the test. */
export function lilypadErrorOf(fn: () => unknown): LilypadError {
  try {
    fn()
  } catch (error) {
    if (isLilypadError(error)) return error
    throw error
  }
  throw new Error('expected a LilypadError, but nothing was thrown')
}

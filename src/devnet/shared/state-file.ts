/**
 * A small JSON document persisted under a service's data directory: every change is written to a
 * temporary sibling and renamed over the file, so a crash leaves either the old or the new document,
 * never half of one. Writes are serialised, so concurrent updates never interleave.
 */
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'

import {lilypadError} from '../../core/errors/index.js'
import {errnoCode} from '../../core/util/errno.js'

/** A persisted JSON document. */
export interface StateFile<T> {
  /** The current value (as last written or loaded). */
  readonly value: T
  /** Applies `change` to a copy of the value and persists the result before resolving. */
  update(change: (draft: T) => void): Promise<T>
}

/**
 * Loads `path` (or `initial` when it does not exist yet) and returns a handle that persists updates.
 *
 * @throws DEVNET_START_FAILED when the file exists but cannot be read or is not JSON
 */
export async function openStateFile<T>(path: string, initial: () => T): Promise<StateFile<T>> {
  let value: T
  try {
    value = JSON.parse(await readFile(path, 'utf8')) as T
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') {
      throw lilypadError('DEVNET_START_FAILED', {
        message: `Cannot read the service state ${path}: ${error instanceof Error ? error.message : String(error)}.`,
        hints: [
          'Move the file away to start this service afresh (it will forget the deals it handled), or run lilypad devnet reset.',
        ],
        details: {path},
        cause: error,
      })
    }
    value = initial()
  }
  await mkdir(dirname(path), {recursive: true})
  let queue: Promise<unknown> = Promise.resolve()
  let counter = 0
  const persist = async (next: T): Promise<void> => {
    counter += 1
    const temp = `${path}.${process.pid}.${counter}.tmp`
    await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`, {mode: 0o600})
    await rename(temp, path)
  }
  return {
    get value() {
      return value
    },
    update(change) {
      const run = async (): Promise<T> => {
        const draft = structuredClone(value)
        change(draft)
        await persist(draft)
        value = draft
        return draft
      }
      const result = queue.then(run, run)
      queue = result.catch(() => undefined)
      return result
    },
  }
}

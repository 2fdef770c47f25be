/**
 * A result directory that appears complete or not at all: every executor writes into a temporary
 * sibling of the target and renames it into place only once `stdout`, `stderr`, `exitCode` and
 * `outputs/` are all written.
 */
import {lstat, mkdir, mkdtemp, readdir, rename, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {lilypadError} from '../errors/index.js'
import {exitCodeFileContent, RESULT_FILES} from '../results/layout.js'
import {errnoCode} from '../util/errno.js'

/** A result being written. */
export interface PendingResult {
  /** The temporary directory. */
  readonly dir: string
  readonly stdoutPath: string
  readonly stderrPath: string
  readonly outputsDir: string
  /** Writes `exitCode` and renames the directory to its final name. */
  commit(exitCode: number): Promise<void>
  /** Removes the temporary directory (after a failure); safe to call twice. */
  discard(): Promise<void>
}

/**
 * Creates the temporary directory for a result, with an empty `outputs/`.
 *
 * @param resultDir - the final path, which must not exist
 * @returns the pending result
 * @throws RESULT_DIR_EXISTS when `resultDir` already exists
 * @example
 * const pending = await startResult('/data/results/deal-1')
 * await pending.commit(0)
 */
export async function startResult(resultDir: string): Promise<PendingResult> {
  await refuseExisting(resultDir)
  const parent = dirname(resultDir)
  await mkdir(parent, {recursive: true})
  const dir = await mkdtemp(join(parent, `.${basename(resultDir)}.partial-`))
  const outputsDir = join(dir, RESULT_FILES.outputs)
  await mkdir(outputsDir)
  const stdoutPath = join(dir, RESULT_FILES.stdout)
  const stderrPath = join(dir, RESULT_FILES.stderr)
  await writeFile(stdoutPath, '')
  await writeFile(stderrPath, '')
  return {
    dir,
    stdoutPath,
    stderrPath,
    outputsDir,
    async commit(exitCode) {
      await writeFile(join(dir, RESULT_FILES.exitCode), exitCodeFileContent(exitCode))
      // rename(2) silently replaces an empty directory: check again right before it.
      await refuseExisting(resultDir)
      await rename(dir, resultDir)
    },
    async discard() {
      await rm(dir, {recursive: true, force: true})
    },
  }
}

async function refuseExisting(resultDir: string): Promise<void> {
  try {
    await lstat(resultDir)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return
    throw error
  }
  throw lilypadError('RESULT_DIR_EXISTS', {
    message: `The result directory ${resultDir} already exists; a result is never written over another`,
    hints: ['Remove it, or choose another result directory.'],
    details: {resultDir},
  })
}

/**
 * Sums the sizes of everything under a directory without following symbolic links (a link counts
 * as its own small size, not as its target).
 *
 * @param dir - the directory
 * @returns the total size in bytes
 * @example
 * await directorySize(pending.outputsDir)
 */
export async function directorySize(dir: string): Promise<number> {
  let total = 0
  const pending = [dir]
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const entry of await readdir(current, {withFileTypes: true})) {
      const path = join(current, entry.name)
      const stat = await lstat(path)
      total += stat.isDirectory() ? 0 : stat.size
      if (stat.isDirectory()) pending.push(path)
    }
  }
  return total
}

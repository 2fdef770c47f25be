import {access} from 'node:fs/promises'

/**
 * Whether something exists at `path` (any kind of entry; a dangling symbolic link counts as absent).
 *
 * @param path - the path to look at
 * @returns true when `access` finds it
 * @example
 * if (await pathExists(resultDir)) reuse(resultDir)
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

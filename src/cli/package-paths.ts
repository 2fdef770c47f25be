/**
 * Paths inside the installed package (templates/ ships next to dist/).
 */
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The directory holding the `module init` scaffolds. */
export function templatesDir(): string {
  return join(packageRoot, 'templates')
}

/**
 * Transpiles source files (and the relative imports they reach) to plain ESM JavaScript in a temp
 * directory, so that tests can run core code in separate Node processes without a build. Types are
 * stripped by swc, as in jest; `node_modules` is linked in so that package imports resolve.
 *
 * @example
 * const out = await makeTempDir()
 * await transpileSources(['src/core/module/repo-cache.ts'], out)
 * // node <out>/src/core/module/repo-cache.js now imports
 */
import {mkdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {transform} from '@swc/core'

/** The repository root (two levels above this file). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * Transpiles `entries` (paths relative to the project root) and every relative `.js` import they
 * reach into `outDir`, keeping the directory layout.
 */
export async function transpileSources(entries: readonly string[], outDir: string): Promise<void> {
  const seen = new Set<string>()
  const queue = entries.map((entry) => resolve(projectRoot, entry))
  while (queue.length > 0) {
    const file = queue.pop()
    if (file === undefined || seen.has(file)) continue
    seen.add(file)
    const source = await readFile(file, 'utf8')
    const {code} = await transform(source, {
      filename: file,
      jsc: {target: 'es2022', parser: {syntax: 'typescript'}},
      module: {type: 'es6'},
    })
    const target = join(outDir, relative(projectRoot, file)).replace(/\.ts$/, '.js')
    await mkdir(dirname(target), {recursive: true})
    await writeFile(target, code, 'utf8')
    for (const match of source.matchAll(/from\s+'(\.{1,2}\/[^']+)\.js'/g)) {
      if (match[1] !== undefined) queue.push(resolve(dirname(file), `${match[1]}.ts`))
    }
  }
  await symlink(join(projectRoot, 'node_modules'), join(outDir, 'node_modules'), 'dir')
}

/**
 * Builds the probe WASI module (test/fixtures/executors/probe/probe.as, AssemblyScript) with asc
 * into a temp "module checkout", and makes rendered Wasm modules that run it.
 */
import {execFile} from 'node:child_process'
import {copyFile, mkdir, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import type {ExecutorEvent} from '../../../../src/core/executors/index.js'
import type {ModuleSpec, WasmSpec} from '../../../../src/core/module/schema.js'
import {ROOT} from '../../../helpers/run-cli.js'

const run = promisify(execFile)

/** The module file inside the probe checkout. */
export const PROBE_PATH = 'build/probe.wasm'

/**
 * Compiles the probe into `<moduleDir>/build/probe.wasm`. asc reads only `.ts` entry files, and the
 * source is kept as `.as` so the project's type check does not read AssemblyScript. The shim's
 * config is found through a `node_modules` link, as in a module of its own.
 */
export async function buildProbe(moduleDir: string): Promise<void> {
  await mkdir(join(moduleDir, 'build'), {recursive: true})
  await copyFile(
    join(ROOT, 'test', 'fixtures', 'executors', 'probe', 'probe.as'),
    join(moduleDir, 'probe.ts'),
  )
  await symlink(join(ROOT, 'node_modules'), join(moduleDir, 'node_modules'))
  await writeFile(
    join(moduleDir, 'asconfig.json'),
    JSON.stringify({
      extends: './node_modules/@assemblyscript/wasi-shim/asconfig.json',
      targets: {release: {optimizeLevel: 2, shrinkLevel: 0, noAssert: false, outFile: PROBE_PATH}},
    }),
  )
  await run(
    process.execPath,
    [join(ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js'), 'probe.ts', '--target', 'release'],
    {
      cwd: moduleDir,
      timeout: 60_000,
    },
  )
}

/** A rendered module running the probe with these arguments. */
export function probeModule(
  args: string[],
  wasm: Partial<WasmSpec> = {},
  spec: Partial<ModuleSpec['job']['Spec']> = {},
): ModuleSpec {
  return {
    machine: {cpu: 1000, ram: 100},
    job: {
      APIVersion: 'V1beta1',
      Spec: {
        Engine: 'Wasm',
        Wasm: {
          EntryModule: {StorageSource: 'RepoClone', Path: PROBE_PATH},
          EntryPoint: '_start',
          Parameters: args,
          EnvironmentVariables: {PROBE: 'yes'},
          ...wasm,
        },
        Network: {Type: 'None'},
        Timeout: 120,
        ...spec,
      },
    },
  }
}

/** Collects events and remembers the pid of the runner process. */
export function eventLog(): {
  events: ExecutorEvent[]
  onEvent: (event: ExecutorEvent) => void
  pids: () => number[]
} {
  const events: ExecutorEvent[] = []
  return {
    events,
    onEvent: (event) => events.push(event),
    pids: () =>
      events.flatMap((event) =>
        event.type === 'executor.started' && event.pid !== undefined ? [event.pid] : [],
      ),
  }
}

/** True while a process with this pid exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

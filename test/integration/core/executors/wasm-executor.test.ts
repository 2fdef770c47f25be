/**
 * The Wasm executor on real WASI modules in real child processes: determinism, the caps (time,
 * output, memory, outputs), exit codes and traps, the preopened directories, and what it refuses.
 */
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, readdir, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {setTimeout as delay} from 'node:timers/promises'

import {afterAll, afterEach, beforeAll, describe, expect, it} from '@jest/globals'

import {isLilypadError, type LilypadError} from '../../../../src/core/errors/index.js'
import {
  type ExecuteOptions,
  type ExecutionResult,
  VIRTUAL_EPOCH_NS,
  createExecutors,
  executeJob,
  executeWasm,
  isModuleFault,
} from '../../../../src/core/executors/index.js'
import {compileModuleTemplate} from '../../../../src/core/module/template/index.js'
import {computeDataId} from '../../../../src/core/results/data-id.js'
import {validateModuleSpec} from '../../../../src/core/module/validate.js'
import {makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'
import {ROOT} from '../../../helpers/run-cli.js'
import {buildProbe, eventLog, probeModule, processExists} from './wasm-fixtures.js'

let moduleDir: string
let work: string
let counter = 0
const started: number[] = []

beforeAll(async () => {
  moduleDir = await makeTempDir('lilypad-wasm-probe-')
  work = await makeTempDir('lilypad-wasm-results-')
  await buildProbe(moduleDir)
})

/** Whether the process still runs: a zombie (exited, not yet reaped by its new parent) does not. */
function running(pid: number): boolean {
  if (!processExists(pid)) return false
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

afterEach(() => {
  // Every runner process is gone when execute returns; kill any survivor so a failure leaks none.
  const alive = started.filter(running)
  for (const pid of alive) process.kill(pid, 'SIGKILL')
  started.length = 0
  expect(alive).toEqual([])
})

afterAll(async () => {
  await removeTempDir(moduleDir)
  await removeTempDir(work)
})

function nextResultDir(): string {
  counter += 1
  return join(work, `result-${counter}`)
}

async function execute(
  options: Partial<ExecuteOptions> & Pick<ExecuteOptions, 'module'>,
): Promise<ExecutionResult> {
  const log = eventLog()
  try {
    return await executeWasm({
      moduleDir,
      resultDir: nextResultDir(),
      seed: 'test-seed',
      onEvent: log.onEvent,
      ...options,
    })
  } finally {
    started.push(...log.pids())
  }
}

async function failure(
  options: Partial<ExecuteOptions> & Pick<ExecuteOptions, 'module'>,
): Promise<LilypadError> {
  try {
    await execute(options)
  } catch (error) {
    if (isLilypadError(error)) return error
    throw error
  }
  throw new Error('expected the execution to fail')
}

async function files(result: ExecutionResult): Promise<{stdout: string; stderr: string; exitCode: string}> {
  const read = (name: string): Promise<string> => readFile(join(result.resultDir, name), 'utf8')
  return {stdout: await read('stdout'), stderr: await read('stderr'), exitCode: await read('exitCode')}
}

/** Names left in the results directory other than finished results: partial directories. */
async function leftovers(): Promise<string[]> {
  return (await readdir(work)).filter((name) => !/^result-\d+$/.test(name))
}

describe('determinism', () => {
  it('gives the same bytes on every run: virtual clock, seeded randomness, no sockets', async () => {
    const first = await execute({module: probeModule(['clock'])})
    const second = await execute({module: probeModule(['clock'])})
    const a = await files(first)
    const b = await files(second)
    expect(a).toEqual(b)
    expect(await readFile(join(first.resultDir, 'stdout'))).toEqual(
      await readFile(join(second.resultDir, 'stdout')),
    )
    // The clock reads are the virtual epoch (2024-01-01T00:00:00Z), not this machine's time, and
    // advance by exactly 1 ms per read.
    expect(a.stdout).toContain(`realtime ${VIRTUAL_EPOCH_NS} ${VIRTUAL_EPOCH_NS + 1_000_000n}\n`)
    expect(a.stdout).toContain('monotonic 2000000 3000000\n')
    expect(a.stdout).toContain('resolution 1000000\n')
    expect(a.stdout).toContain(`date ${(VIRTUAL_EPOCH_NS + 4_000_000n) / 1_000_000n}\n`)
    expect(a.stdout).toContain('sock 52\n')
    expect(a.exitCode).toBe('0')
    expect(first.truncated).toEqual({stdout: false, stderr: false})
  })

  it('draws randomness from the seed: same seed, same bytes; another seed, other bytes', async () => {
    const randomLines = async (seed: string): Promise<string[]> =>
      (await files(await execute({module: probeModule(['clock']), seed}))).stdout
        .split('\n')
        .filter((line) => line.startsWith('random ') || line.startsWith('math '))
    const one = await randomLines('deal-a')
    expect(await randomLines('deal-a')).toEqual(one)
    const other = await randomLines('deal-b')
    expect(other).toHaveLength(3)
    other.forEach((line, index) => {
      expect(line).not.toBe(one[index])
    })
  })
})

describe('directories', () => {
  // tmpfs lists newest first, ext4 and overlayfs in hash order: two hosts, two orders.
  const shm = existsSync('/dev/shm') ? '/dev/shm' : undefined
  const names = ['zeta', 'a1', 'mid', 'b2', 'alpha']
  const sorted = ['a1', 'alpha', 'b2', 'mid', 'sub', 'zeta']

  async function inputsOn(parent: string): Promise<string> {
    const dir = await mkdtemp(join(parent, 'lilypad-wasm-inputs-'))
    for (const name of names) await writeFile(join(dir, name), name)
    await mkdir(join(dir, 'sub'))
    await writeFile(join(dir, 'sub', 'inner'), 'x')
    return dir
  }

  function listed(stdout: string): string[] {
    return stdout.split('\n').flatMap((line) => (line.startsWith('entry ') ? [line.split(' ')[1] ?? ''] : []))
  }

  ;(shm === undefined ? it.skip : it)(
    'lists /inputs in name order with the same cookies, inodes and directory stat on disk and on tmpfs',
    async () => {
      const onDisk = await inputsOn(tmpdir())
      const onTmpfs = await inputsOn(shm ?? tmpdir())
      try {
        const run = async (inputsDir: string, buffer: string): Promise<ExecutionResult> =>
          execute({module: probeModule(['list', '/inputs', buffer]), inputsDir})
        const disk = await files(await run(onDisk, '4096'))
        const tmpfs = await files(await run(onTmpfs, '4096'))
        expect(tmpfs.stdout).toBe(disk.stdout)
        expect(listed(disk.stdout)).toEqual(sorted)
        expect(disk.stdout).toContain('entry a1 type 4 next 1 ino 0\n')
        expect(disk.stdout).toContain('entry sub type 3 next 5 ino 0\n')
        expect(disk.stdout).toContain(`dir nlink 1 size 0 mtime ${VIRTUAL_EPOCH_NS}\n`)
        // A buffer that holds one or two entries at a time, and one too small for any: the guest
        // continues from its cookies and grows the buffer, and sees the same listing.
        for (const buffer of ['40', '8']) {
          const small = (await files(await run(onTmpfs, buffer))).stdout
          expect(small.replace(/calls \d+/, '')).toBe(disk.stdout.replace(/calls \d+/, ''))
          expect(small).not.toContain('calls 1\n')
        }
      } finally {
        await removeTempDir(onDisk)
        await removeTempDir(onTmpfs)
      }
    },
  )

  ;(shm === undefined ? it.skip : it)(
    'gives the same stdout and result CID for files created in /outputs on disk and on tmpfs',
    async () => {
      const shmWork = await mkdtemp(join(shm ?? tmpdir(), 'lilypad-wasm-results-'))
      try {
        const module = probeModule(['list', '/outputs', '64', ...names, 'sub/'])
        const disk = await execute({module})
        const tmpfs = await execute({module, resultDir: join(shmWork, 'result')})
        const diskFiles = await files(disk)
        expect((await files(tmpfs)).stdout).toBe(diskFiles.stdout)
        expect(listed(diskFiles.stdout)).toEqual(sorted)
        expect(await computeDataId(tmpfs.resultDir)).toBe(await computeDataId(disk.resultDir))
      } finally {
        await removeTempDir(shmWork)
      }
    },
  )
})

describe('the runner process', () => {
  /** Whether the loop job in the partial result under `dir` has printed that it loops. */
  async function guestLooping(dir: string): Promise<boolean> {
    for (const name of await readdir(dir)) {
      if (!name.startsWith('.result.partial-')) continue
      const stdout = await readFile(join(dir, name, 'stdout'), 'utf8').catch(() => '')
      if (stdout === 'looping\n') return true
    }
    return false
  }

  it('ends when the process that started it is killed with SIGKILL', async () => {
    const scratch = await makeTempDir('lilypad-wasm-parent-')
    const script = join(scratch, 'parent.mjs')
    const executor = pathToFileURL(join(ROOT, 'src', 'core', 'executors', 'wasm', 'executor.ts')).href
    await writeFile(
      script,
      [
        `import {executeWasm} from ${JSON.stringify(executor)}`,
        'const [moduleDir, resultDir, module] = process.argv.slice(2)',
        'await executeWasm({module: JSON.parse(module), moduleDir, resultDir, seed: "s", onEvent: (event) => {',
        '  if (event.type === "executor.started") process.stdout.write(`runner ${event.pid}\\n`)',
        '}})',
      ].join('\n'),
    )
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    const parent = spawn(
      process.execPath,
      ['--import', tsx, script, moduleDir, join(scratch, 'result'), JSON.stringify(probeModule(['loop']))],
      {stdio: ['ignore', 'pipe', 'pipe']},
    )
    const parentPid = parent.pid
    if (parentPid === undefined) throw new Error('the parent process did not start')
    let runnerPid: number | undefined
    try {
      runnerPid = await new Promise<number>((resolvePid, reject) => {
        let text = ''
        parent.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk
          const match = /runner (\d+)\n/.exec(text)
          if (match?.[1] !== undefined) resolvePid(Number(match[1]))
        })
        parent.on('exit', (code, signal) => {
          reject(new Error(`the parent exited (${signal ?? code ?? '?'}) before starting the job`))
        })
      })
      started.push(runnerPid)
      // Killed only once the guest loops: a runner still waiting for its request would end anyway.
      let deadline = Date.now() + 30_000
      while (!(await guestLooping(scratch)) && Date.now() < deadline) await delay(50)
      expect(await guestLooping(scratch)).toBe(true)
      expect(running(runnerPid)).toBe(true)
      process.kill(parentPid, 'SIGKILL')
      deadline = Date.now() + 5000
      while (running(runnerPid) && Date.now() < deadline) await delay(50)
      expect(running(runnerPid)).toBe(false)
    } finally {
      if (processExists(parentPid)) process.kill(parentPid, 'SIGKILL')
      await removeTempDir(scratch)
    }
  })
})

describe('the wasm scaffold', () => {
  it('runs templates/wasm rendered by the module renderer and prints what its README says', async () => {
    const templateText = await readFile(join(ROOT, 'templates', 'wasm', 'lilypad_module.json.tmpl'), 'utf8')
    const {value} = compileModuleTemplate(templateText, {templateName: 'lilypad_module.json.tmpl'}).render({
      Message: 'hello lilypad frogs',
    })
    const {module} = validateModuleSpec(value, {source: 'lilypad_module.json.tmpl'})
    const result = await execute({module, moduleDir: join(ROOT, 'templates', 'wasm')})
    const {stdout, stderr, exitCode} = await files(result)
    // FNV-1a over UTF-16 code units, computed here independently of the module.
    let hash = 2166136261
    for (const char of 'hello lilypad frogs') hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0
    expect(stdout).toBe(
      `Message: hello lilypad frogs\nWords: 3\nReversed: sgorf dapylil olleh\nFingerprint: ${hash.toString(16)}\n`,
    )
    expect(stderr).toBe('')
    expect(exitCode).toBe('0')
    expect(await readdir(join(result.resultDir, 'outputs'))).toEqual([])
    expect((await readdir(result.resultDir)).sort()).toEqual(['exitCode', 'outputs', 'stderr', 'stdout'])
  })
})

describe('limits', () => {
  it('stops an endless loop at its time limit and leaves nothing behind', async () => {
    const log = eventLog()
    const resultDir = nextResultDir()
    const error = await failure({
      module: probeModule(['loop']),
      resultDir,
      limits: {timeoutMs: 1000},
      onEvent: log.onEvent,
    })
    started.push(...log.pids())
    expect(error.code).toBe('JOB_TIMEOUT')
    expect(error.category).toBe('job')
    expect(error.message).toContain('1 s')
    expect(log.events.map((event) => event.type)).toEqual(['executor.started', 'executor.timed-out'])
    expect(log.pids().filter(processExists)).toEqual([])
    await expect(readdir(resultDir)).rejects.toThrow(/ENOENT/)
    expect(await leftovers()).toEqual([])
  })

  it('cuts a stdout flood at the cap, keeps running, and says so in stderr', async () => {
    const result = await execute({module: probeModule(['flood', '1000000']), limits: {stdoutBytes: 65_536}})
    const {stdout, stderr, exitCode} = await files(result)
    expect(Buffer.byteLength(stdout)).toBe(65_536)
    expect(stdout.startsWith('flood flood')).toBe(true)
    expect(result.truncated).toEqual({stdout: true, stderr: false})
    expect(stderr).toBe(
      'flood done\n[lilypad] stdout was cut at 65536 bytes (the limit); the rest was dropped\n',
    )
    expect(exitCode).toBe('0')
  })

  it('cuts a stderr flood too, with the notice after the cut', async () => {
    const result = await execute({
      module: probeModule(['flood-stderr', '10000']),
      limits: {stderrBytes: 1000},
    })
    const {stderr} = await files(result)
    expect(result.truncated).toEqual({stdout: false, stderr: true})
    expect(stderr.slice(0, 1000)).toBe('noise noise noise noise\n'.repeat(42).slice(0, 1000))
    expect(stderr.slice(1000)).toBe(
      '\n[lilypad] stderr was cut at 1000 bytes (the limit); the rest was dropped\n',
    )
  })

  it('stops memory growth at the cap; the same job fits under a larger one', async () => {
    const capped = await execute({
      module: probeModule(['grow', '48']),
      limits: {memoryBytes: 32 * 1024 * 1024},
    })
    const {stdout, stderr, exitCode} = await files(capped)
    expect(exitCode).toBe('134')
    expect(stdout).not.toContain('allocated')
    expect(stderr).toContain('[lilypad] the module trapped: unreachable\n')
    expect(stderr).toMatch(/of its 32\.0 MiB memory limit/)
    const roomy = await execute({
      module: probeModule(['grow', '48']),
      limits: {memoryBytes: 128 * 1024 * 1024},
    })
    expect((await files(roomy)).stdout).toBe('allocated 48 MiB\n')
  })

  it('fails writes past the outputs quota with ENOSPC inside the guest', async () => {
    const result = await execute({module: probeModule(['big-output', '8']), limits: {outputsBytes: 200_000}})
    expect((await files(result)).stdout).toBe('write result 51\n')
    const written = await readFile(join(result.resultDir, 'outputs', 'big.bin'))
    expect(written.length).toBe(3 * 65_536)
  })

  it('takes the time limit from the module when the caller gives none', async () => {
    const error = await failure({module: probeModule(['loop'], {}, {Timeout: 1})})
    expect(error.code).toBe('JOB_TIMEOUT')
  })
})

describe('results', () => {
  it('returns a non-zero exit as a normal result with its stdout and stderr', async () => {
    const result = await execute({module: probeModule(['exit', '3'])})
    expect(result.exitCode).toBe(3)
    expect(await files(result)).toEqual({
      stdout: 'partial output\n',
      stderr: 'something went wrong\n',
      exitCode: '3',
    })
  })

  it('reports a trap as exit code 134 with the reason in stderr', async () => {
    const result = await execute({module: probeModule(['trap'])})
    expect(result.exitCode).toBe(134)
    expect((await files(result)).stderr).toBe('[lilypad] the module trapped: unreachable\n')
  })

  it('passes Parameters as argv after the file name, and both forms of EnvironmentVariables', async () => {
    const asMap = await files(
      await execute({module: probeModule(['args', 'x y'], {EnvironmentVariables: {B: 'x=y', A: '1'}})}),
    )
    const asList = await execute({
      module: probeModule(['args', 'x y'], {
        EnvironmentVariables: ['A=1', 'B=x=y'] as unknown as Record<string, string>,
      }),
    })
    expect(asMap.stdout).toBe(
      'argv probe.wasm|args|x y\nenv A=1\nenv B=x=y\npreopen /outputs 3\npreopen /inputs -1\npreopen / -1\n',
    )
    expect((await files(asList)).stdout).toBe(asMap.stdout)
  })

  it('preopens /outputs for writing and /inputs read-only, and nothing else', async () => {
    const inputs = join(moduleDir, 'inputs')
    await mkdir(inputs, {recursive: true})
    await writeFile(join(inputs, 'input.txt'), 'the input')
    const result = await execute({module: probeModule(['files']), inputsDir: inputs})
    const lines = (await files(result)).stdout.split('\n')
    expect(lines).toEqual([
      'write outputs 0',
      'read inputs the input',
      'write inputs fd 76', // ENOTCAPABLE: the fd was opened without the write right
      'create in inputs -69', // EROFS
      'unlink in inputs 69',
      expect.stringMatching(/^escape -\d+$/),
      '',
    ])
    expect(await readFile(join(result.resultDir, 'outputs', 'result.txt'), 'utf8')).toBe(
      'written by the module\n',
    )
    expect(await readdir(inputs)).toEqual(['input.txt'])
    expect(await readFile(join(inputs, 'input.txt'), 'utf8')).toBe('the input')
  })

  it('sleeps for real through poll_oneoff', async () => {
    const result = await execute({module: probeModule(['sleep', '1'])})
    expect((await files(result)).stdout).toBe('slept 1\n')
  })

  it('refuses a result directory that already exists', async () => {
    const resultDir = nextResultDir()
    await mkdir(resultDir)
    const error = await failure({module: probeModule(['clock']), resultDir})
    expect(error.code).toBe('RESULT_DIR_EXISTS')
    expect(await readdir(resultDir)).toEqual([])
  })

  it('stops on the abort signal and leaves nothing behind', async () => {
    const controller = new AbortController()
    const log = eventLog()
    const resultDir = nextResultDir()
    const error = await failure({
      module: probeModule(['sleep', '30']),
      resultDir,
      signal: controller.signal,
      onEvent: (event) => {
        log.onEvent(event)
        if (event.type === 'executor.started')
          setTimeout(() => {
            controller.abort()
          }, 200)
      },
    })
    started.push(...log.pids())
    expect(error.code).toBe('INTERRUPTED')
    expect(log.pids().filter(processExists)).toEqual([])
    await expect(readdir(resultDir)).rejects.toThrow(/ENOENT/)
  })
})

describe('what it refuses', () => {
  const cases: [string, Parameters<typeof probeModule>[1], RegExp, string][] = [
    [
      'a path out of the checkout',
      {EntryModule: {StorageSource: 'RepoClone', Path: '../elsewhere/module.wasm'}},
      /not a path inside/,
      'path-escape',
    ],
    [
      'an absolute path',
      {EntryModule: {StorageSource: 'RepoClone', Path: '/etc/hostname'}},
      /not a path inside/,
      'path-escape',
    ],
    [
      'a missing file',
      {EntryModule: {StorageSource: 'RepoClone', Path: 'build/none.wasm'}},
      /has no file build\/none\.wasm/,
      'entry-module-missing',
    ],
    [
      'another storage source',
      {EntryModule: {StorageSource: 'IPFS', CID: 'Qm', Path: 'x'}},
      /StorageSource "IPFS"/,
      'storage-source',
    ],
    ['no entry module', {EntryModule: null}, /no Wasm module to run/, 'entry-module-missing'],
    ['a missing entry point', {EntryPoint: 'main'}, /exports no function "main"/, 'entry-point-missing'],
    [
      'a directory',
      {EntryModule: {StorageSource: 'RepoClone', Path: 'build'}},
      /is not a file/,
      'entry-module-invalid',
    ],
    [
      'bad environment entries',
      {EnvironmentVariables: ['NOEQUALS'] as unknown as Record<string, string>},
      /not KEY=VALUE/,
      'job-spec',
    ],
  ]
  it.each(cases)(
    'refuses %s with JOB_CANNOT_RUN, blaming the module',
    async (_name, wasm, message, reason) => {
      const resultDir = nextResultDir()
      const error = await failure({module: probeModule(['clock'], wasm), resultDir})
      expect(error.code).toBe('JOB_CANNOT_RUN')
      expect(error.category).toBe('job')
      expect(error.message).toMatch(message)
      expect(error.details.reason).toBe(reason)
      expect(isModuleFault(error)).toBe(true)
      await expect(readdir(resultDir)).rejects.toThrow(/ENOENT/)
      expect(await leftovers()).toEqual([])
    },
  )

  it('refuses a symbolic link that leaves the checkout', async () => {
    const outside = await makeTempDir('lilypad-wasm-outside-')
    try {
      await writeFile(join(outside, 'module.wasm'), await readFile(join(moduleDir, 'build', 'probe.wasm')))
      await symlink(join(outside, 'module.wasm'), join(moduleDir, 'build', 'link.wasm'))
      const error = await failure({
        module: probeModule(['clock'], {EntryModule: {StorageSource: 'RepoClone', Path: 'build/link.wasm'}}),
      })
      expect(error.code).toBe('JOB_CANNOT_RUN')
      expect(error.message).toMatch(/outside the module repository/)
    } finally {
      await removeTempDir(outside)
    }
  })

  it('refuses a file that is not a WebAssembly module', async () => {
    await writeFile(join(moduleDir, 'build', 'junk.wasm'), 'not wasm at all')
    const error = await failure({
      module: probeModule(['clock'], {EntryModule: {StorageSource: 'RepoClone', Path: 'build/junk.wasm'}}),
    })
    expect(error.code).toBe('JOB_CANNOT_RUN')
    expect(error.message).toMatch(/not a WebAssembly binary/)
    expect(error.details.reason).toBe('bad-binary')
    expect(isModuleFault(error)).toBe(true)
  })

  it('blames the module for starting with more memory than it declares, and the machine for a lower cap', async () => {
    const declared = await failure({module: probeModule(['clock'], {}, {Resources: {Memory: '1Kib'}})})
    expect(declared.details.reason).toBe('initial-memory-over-limit')
    expect(declared.message).toMatch(/more than the limit of 0 KiB/)
    expect(isModuleFault(declared)).toBe(true)
    const capped = await failure({module: probeModule(['clock']), limits: {memoryBytes: 1024}})
    expect(capped.details.reason).toBe('memory-cap')
    expect(isModuleFault(capped)).toBe(false)
  })
})

describe('executeJob', () => {
  it('runs Wasm jobs here and refuses Docker jobs when no engine answers', async () => {
    const executors = await createExecutors({dockerHost: `unix://${join(work, 'no-docker.sock')}`})
    expect(executors.engines).toEqual(['wasm'])
    const log = eventLog()
    const result = await executeJob({
      module: probeModule(['exit', '0']),
      moduleDir,
      resultDir: nextResultDir(),
      seed: 's',
      executors,
      onEvent: log.onEvent,
    })
    started.push(...log.pids())
    expect(result.engine).toBe('wasm')
    const docker = probeModule([], {}, {Engine: 'Docker', Docker: {Image: 'alpine@sha256:' + '0'.repeat(64)}})
    const error = await executeJob({
      module: docker,
      moduleDir,
      resultDir: nextResultDir(),
      seed: 's',
      executors,
    }).catch((caught: unknown) => caught)
    expect(isLilypadError(error, 'ENGINE_UNAVAILABLE')).toBe(true)
    expect((error as LilypadError).message).toBe(
      'This machine has no Docker engine: it cannot run Docker jobs',
    )
    expect((error as LilypadError).hints.join(' ')).toContain('DOCKER_HOST')
  })
})

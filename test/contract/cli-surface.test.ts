/**
 * The CLI surface is a contract: the committed manifest matches the build, every command and flag
 * documents itself, and the README lists every command, environment variable and exit code.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from '@jest/globals'

import {EXIT_CODES} from '../../src/cli/exit-codes.js'
import {ENV_VARS} from '../../src/core/config/env.js'
import {ROOT} from '../helpers/run-cli.js'

interface ManifestCommand {
  id: string
  summary?: string
  examples?: string[]
  hidden?: boolean
  flags: Record<string, {summary?: string; description?: string; hidden?: boolean}>
  args: Record<string, {description?: string}>
}

const manifestText = readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')
const manifest = JSON.parse(manifestText) as {commands: Record<string, ManifestCommand>}
const commands = Object.values(manifest.commands).filter((command) => command.hidden !== true)
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

describe('oclif manifest', () => {
  it('is committed exactly as the build generates it', () => {
    const committed = execFileSync('git', ['show', 'HEAD:oclif.manifest.json'], {cwd: ROOT, encoding: 'utf8'})
    expect(JSON.parse(committed)).toEqual(JSON.parse(manifestText))
  })

  it('holds the module commands', () => {
    expect(Object.keys(manifest.commands)).toEqual(
      expect.arrayContaining(['module:render', 'module:validate', 'module:init']),
    )
  })
})

describe('every command', () => {
  it.each(commands.map((command) => [command.id, command] as const))(
    '%s documents itself',
    (_id, command) => {
      expect(command.summary?.length).toBeGreaterThan(10)
      expect(command.examples?.length).toBeGreaterThan(0)
      for (const [name, flag] of Object.entries(command.flags)) {
        if (flag.hidden === true) continue
        expect([name, (flag.summary ?? flag.description ?? '').length > 5]).toEqual([name, true])
      }
      for (const [name, arg] of Object.entries(command.args)) {
        expect([name, (arg.description ?? '').length > 5]).toEqual([name, true])
      }
      expect(command.flags.json).toBeDefined()
    },
  )
})

describe('README', () => {
  it('documents every command', () => {
    for (const command of commands)
      expect([command.id, readme.includes(`lilypad ${command.id.replaceAll(':', ' ')}`)]).toEqual([
        command.id,
        true,
      ])
  })

  it('lists every environment variable of the registry', () => {
    for (const spec of ENV_VARS) expect(readme).toContain(`| \`${spec.name}\` | ${spec.description} |`)
  })

  it('gives the exit-code table the CLI uses', () => {
    const rows = [...readme.matchAll(/^\| (\d+) \| ([a-z]+)/gm)].map((m) => [Number(m[1]), m[2]])
    const expected = new Map<number, string>([[0, 'success']])
    for (const [category, code] of Object.entries(EXIT_CODES)) {
      if (!expected.has(code)) expected.set(code, category === 'internal' ? 'a' : category)
    }
    expect(new Map(rows as [number, string][])).toEqual(expected)
  })

  it('gives the set-up and test commands CI runs', () => {
    expect(readme).toContain('`npm ci && npm test`')
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8')
    expect(ci).toMatch(/npm ci\b/)
    expect(ci).toMatch(/^npm test\b/m)
  })
})

/**
 * The provider's and mediator's persisted state: updates are serialised and each one is on disk
 * (as a whole JSON document) before it resolves, so a restart reads exactly what was last written.
 */
import {readFile, readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {openStateFile} from '../../../../src/devnet/shared/state-file.js'
import {makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'

let dir: string

beforeAll(async () => {
  dir = await makeTempDir('lilypad-state-file-')
})

afterAll(async () => {
  await removeTempDir(dir)
})

describe('openStateFile', () => {
  it('starts from the initial value and persists every update before resolving', async () => {
    const path = join(dir, 'a', 'state.json')
    const state = await openStateFile(path, () => ({count: 0, seen: [] as number[]}))
    expect(state.value).toEqual({count: 0, seen: []})
    await state.update((draft) => {
      draft.count += 1
    })
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({count: 1, seen: []})
  })

  it('serialises concurrent updates, so none is lost, and leaves no temporary file', async () => {
    const path = join(dir, 'b.json')
    const state = await openStateFile(path, () => ({count: 0, seen: [] as number[]}))
    await Promise.all(
      Array.from({length: 50}, (_, i) =>
        state.update((draft) => {
          draft.count += 1
          draft.seen.push(i)
        }),
      ),
    )
    const reopened = await openStateFile(path, () => ({count: -1, seen: [] as number[]}))
    expect(reopened.value.count).toBe(50)
    expect(reopened.value.seen).toEqual(Array.from({length: 50}, (_, i) => i))
    expect((await readdir(dir)).filter((name) => name.startsWith('b.json'))).toEqual(['b.json'])
  })

  it('keeps the old value when an update throws', async () => {
    const path = join(dir, 'c.json')
    const state = await openStateFile(path, () => ({count: 1}))
    await expect(
      state.update(() => {
        throw new Error('no')
      }),
    ).rejects.toThrow('no')
    await state.update((draft) => {
      draft.count += 1
    })
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({count: 2})
  })

  it('refuses a file that is not JSON rather than starting over', async () => {
    const path = join(dir, 'd.json')
    await writeFile(path, '{"count": ')
    const error = await openStateFile(path, () => ({count: 0})).catch((caught: unknown) => caught)
    expect(isLilypadError(error) && error.code).toBe('DEVNET_START_FAILED')
    expect(await readFile(path, 'utf8')).toBe('{"count": ')
  })
})

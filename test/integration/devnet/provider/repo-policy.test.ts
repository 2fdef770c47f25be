/** The provider's rule on module repositories: remotes always, local ones only under the module base. */
import {describe, expect, it} from '@jest/globals'

import {moduleRepoPolicy} from '../../../../src/devnet/provider/index.js'

describe('moduleRepoPolicy', () => {
  const local = moduleRepoPolicy('file:///srv/modules/')

  it('allows https:// and git:// remotes whatever the base', () => {
    expect(local('https://github.com/Lilypad-Tech/lilypad-module-cowsay')).toBe(true)
    expect(moduleRepoPolicy()('git://127.0.0.1:9418/lilypad-module-cowsay')).toBe(true)
  })

  it('allows file:// only at or below the base, never a sibling that shares its prefix', () => {
    expect(local('file:///srv/modules/lilypad-module-cowsay')).toBe(true)
    expect(local('file:///srv/modules')).toBe(true)
    expect(local('file:///srv/modules-evil/repo')).toBe(false)
    expect(local('file:///home/me/secret')).toBe(false)
    expect(moduleRepoPolicy()('file:///srv/modules/lilypad-module-cowsay')).toBe(false)
  })

  it('allows loopback http:// only under an http base', () => {
    expect(local('http://127.0.0.1:8080/repo')).toBe(false)
    expect(moduleRepoPolicy('http://127.0.0.1:8080')('http://127.0.0.1:8080/repo')).toBe(true)
    expect(moduleRepoPolicy('http://127.0.0.1:8080')('http://127.0.0.1:8081/repo')).toBe(false)
  })
})

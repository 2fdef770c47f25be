/**
 * Which module repositories the devnet's provider fetches from. A job offer names its module's
 * repository, so without a rule any job creator could make the provider read any git repository on
 * its disk (`file://`) or on its loopback interface (`http://127.0.0.1`). The rule:
 * - `https://` and `git://` remotes: always (public hosting, and the devnet's git daemon);
 * - `file://` and loopback `http://`: only under the network's module base (`moduleBase`), i.e. the
 *   base itself or a path below it; never elsewhere on this machine.
 */

/**
 * Builds the provider's repository rule.
 *
 * @param moduleBase - the network's module base URL (e.g. `git://127.0.0.1:9418` or a `file:///…`
 *   directory); none: remotes only
 * @returns a predicate on a normalised repository URL
 * @example
 * const allowed = moduleRepoPolicy('file:///srv/modules')
 * allowed('file:///srv/modules/lilypad-module-cowsay') // true
 * allowed('file:///home/me/secret-repo') // false
 */
export function moduleRepoPolicy(moduleBase?: string): (repoUrl: string) => boolean {
  const base = moduleBase?.replace(/\/+$/, '')
  return (repoUrl) => {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(repoUrl)?.[1]?.toLowerCase()
    if (scheme === 'https' || scheme === 'git') return true
    if (base === undefined || base === '') return false
    return repoUrl === base || repoUrl.startsWith(`${base}/`)
  }
}

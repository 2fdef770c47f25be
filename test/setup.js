// oclif's ux.stdout goes through console.log; jest decorates console output, which would corrupt
// the JSON captured by runCommand. A plain Console keeps stdout byte-exact.
import {Console} from 'node:console'

globalThis.console = new Console({stdout: process.stdout, stderr: process.stderr})

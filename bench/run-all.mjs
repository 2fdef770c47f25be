// Runs every benchmark; each prints its figures and asserts nothing.
import {benchRender} from './render.mjs'
import {benchStartup} from './startup.mjs'

benchStartup()
console.log()
benchRender()

// Runs every benchmark; each prints its figures and asserts nothing.
import {benchCid} from './cid.mjs'
import {benchDevnet} from './devnet.mjs'
import {benchGas} from './gas.mjs'
import {benchRender} from './render.mjs'
import {benchRun} from './run.mjs'
import {benchSolver} from './solver.mjs'
import {benchStartup} from './startup.mjs'
import {benchWasmJob} from './wasm-job.mjs'

benchStartup()
console.log()
benchRender()
console.log()
await benchGas()
console.log()
benchCid()
console.log()
await benchWasmJob()
console.log()
benchDevnet()
console.log()
await benchSolver()
console.log()
await benchRun()

// The solver service: job offer → deal latency (POST to DealAdded on the websocket), 1,000 offers
// matched, and GET /deals with 10,000 deals stored, each against a baseline measured in the same run
// on the same server. Prints medians; asserts nothing. Uses dist/ (or SOLVER_DIST, a transpiled tree).
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {Wallet, getBytes, hexlify, keccak256, randomBytes} from 'ethers'
import {WebSocket} from 'ws'

import {ROOT, fmt, median} from './lib.mjs'

const DIST = process.env.SOLVER_DIST ?? join(ROOT, 'dist')
const load = (path) => import(pathToFileURL(join(DIST, 'devnet', 'solver', path)).href)

function headersOf(wallet) {
  const payload = Buffer.from(`{"address":"${wallet.address}"}`)
  const sig = wallet.signingKey.sign(keccak256(payload))
  const bytes = Buffer.concat([
    Buffer.from(getBytes(sig.r)),
    Buffer.from(getBytes(sig.s)),
    Buffer.from([sig.v - 27]),
  ])
  return {
    'X-Lilypad-User': payload.toString('base64'),
    'X-Lilypad-Signature': bytes.toString('base64'),
    'content-type': 'application/json',
  }
}

const pricing = {
  instruction_price: 1,
  payment_collateral: 2,
  results_collateral_multiple: 2,
  mediation_fee: 1,
}
const jobOffer = (jc, solver, mediator, n) => ({
  created_at: Date.now(),
  nonce: `bench-${n}-${Math.random()}`,
  job_creator: jc,
  module: {
    name: '',
    repo: 'https://github.com/Lilypad-Tech/lilypad-module-cowsay',
    hash: 'v0.0.4',
    path: '/lilypad_module.json.tmpl',
  },
  spec: {gpu: 0, gpus: null, cpu: 1000, ram: 100, disk: 0},
  inputs: {Message: `hello ${n}`},
  mode: 'MarketPrice',
  pricing,
  trusted_parties: {solver, mediator: [mediator], api_host: ''},
})
const resourceOffer = (rp, solver, mediator) => ({
  created_at: Date.now(),
  resource_provider: rp,
  spec: {gpu: 0, gpus: null, cpu: 8000, ram: 16000, disk: 100000},
  mode: 'FixedPrice',
  default_pricing: pricing,
  trusted_parties: {solver, mediator: [mediator], api_host: ''},
})

async function post(base, path, headers, body) {
  const response = await fetch(`${base}/api/v1${path}`, {method: 'POST', headers, body: JSON.stringify(body)})
  const text = await response.text()
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`)
  return text
}

async function timed(fn) {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

function dealWatcher(base) {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/api/v1/ws?&Type=JobCreator&ID=bench`)
  let count = 0
  const waiters = []
  socket.on('message', (data) => {
    if (JSON.parse(data.toString()).event_type !== 'DealAdded') return
    count += 1
    for (const w of waiters.splice(0)) w()
  })
  return {
    open: new Promise((resolve) => socket.once('open', resolve)),
    until: async (n) => {
      while (count < n) await new Promise((resolve) => waiters.push(resolve))
    },
    close: () => socket.terminate(),
  }
}

export async function benchSolver() {
  const {startSolver} = await load('index.js')
  const {SolverStore} = await load('store.js')
  const dataDir = mkdtempSync(join(tmpdir(), 'lilypad-bench-solver-'))
  const solverWallet = Wallet.createRandom()
  const mediator = Wallet.createRandom().address
  const jc = Wallet.createRandom()
  const jcHeaders = headersOf(jc)
  const solver = await startSolver({
    dataDir: join(dataDir, 'a'),
    protocol: 'solver',
    solverAddress: solverWallet.address,
    limits: {maxJobOfferCapacity: 100_000},
  })
  const base = solver.url
  const watcher = dealWatcher(base)
  await watcher.open
  console.log('solver service')

  // 1. Job offer → DealAdded, one at a time, against a plain 404 round trip on the same server.
  const providers = Array.from({length: 1100}, () => new Wallet(hexlify(randomBytes(32))))
  const providerHeaders = providers.map(headersOf)
  let dealsSeen = 0
  const latency = []
  const floor = []
  for (let i = 0; i < 50; i++) {
    await post(
      base,
      '/resource_offers',
      providerHeaders[i],
      resourceOffer(providers[i].address, solverWallet.address, mediator),
    )
    floor.push(await timed(async () => (await fetch(`${base}/api/v1/deals/QmNone`)).text()))
    latency.push(
      await timed(async () => {
        await post(base, '/job_offers', jcHeaders, jobOffer(jc.address, solverWallet.address, mediator, i))
        await watcher.until(dealsSeen + 1)
      }),
    )
    dealsSeen += 1
  }
  const l = median(latency)
  const f = median(floor)
  console.log(
    `  job offer → DealAdded (median of 50)      ${fmt(l).padStart(10)}  ×${(l / f).toFixed(2)} of a 404 round trip (${fmt(f)})`,
  )

  // 2. 1,000 offers matched: 1,000 resource offers waiting, then 1,000 job offers (4 clients at a
  //    time), against 1,000 job offers that match nothing (another solver named) posted the same way.
  const other = Wallet.createRandom().address
  for (let i = 50; i < 1050; i++) {
    await post(
      base,
      '/resource_offers',
      providerHeaders[i],
      resourceOffer(providers[i].address, solverWallet.address, mediator),
    )
  }
  const postMany = async (solverName, offset) => {
    let next = 0
    const worker = async () => {
      while (next < 1000) {
        const n = next++
        await post(base, '/job_offers', jcHeaders, jobOffer(jc.address, solverName, mediator, offset + n))
      }
    }
    await Promise.all([worker(), worker(), worker(), worker()])
  }
  const unmatched = await timed(() => postMany(other, 100_000))
  const matched = await timed(async () => {
    await postMany(solverWallet.address, 200_000)
    await watcher.until(dealsSeen + 1000)
  })
  console.log(
    `  1,000 offers matched                      ${fmt(matched).padStart(10)}  ×${(matched / unmatched).toFixed(2)} of 1,000 unmatchable offers (${fmt(unmatched)})`,
  )
  watcher.close()
  await solver.stop()

  // 3. GET /deals with 10,000 deals stored (written to the store directly), against an empty filter.
  const dir = join(dataDir, 'b')
  const store = new SolverStore(dir)
  const template = {
    id: '',
    created_at: Date.now(),
    upload_at: 0,
    download_at: 0,
    job_creator: jc.address,
    resource_provider: providers[0].address,
    job_offer: 'QmJob',
    resource_offer: 'QmOffer',
    state: 1,
    deal: {
      id: '',
      members: {
        solver: solverWallet.address,
        job_creator: jc.address,
        resource_provider: providers[0].address,
        mediators: [mediator],
      },
      pricing,
      job_offer: {...jobOffer(jc.address, solverWallet.address, mediator, 0), id: 'QmJob'},
      resource_offer: {...resourceOffer(providers[0].address, solverWallet.address, mediator), id: 'QmOffer'},
    },
    transactions: {},
    mediator: '',
  }
  store.transaction(() => {
    for (let i = 0; i < 10_000; i++) store.putDeal({...template, id: `QmDeal${i}`})
  })
  store.close()
  const big = await startSolver({dataDir: dir, protocol: 'solver', solverAddress: solverWallet.address})
  const full = []
  const empty = []
  let bytes = 0
  for (let i = 0; i < 20; i++) {
    full.push(
      await timed(async () => {
        bytes = (await (await fetch(`${big.url}/api/v1/deals`)).arrayBuffer()).byteLength
      }),
    )
    empty.push(await timed(async () => (await fetch(`${big.url}/api/v1/deals?job_creator=nobody`)).text()))
  }
  const g = median(full)
  const e = median(empty)
  console.log(
    `  GET /deals, 10,000 deals (median of 20)   ${fmt(g).padStart(10)}  ×${(g / e).toFixed(2)} of an empty list (${fmt(e)}); ${(bytes / 1e6).toFixed(1)} MB`,
  )
  await big.stop()
  rmSync(dataDir, {recursive: true, force: true})
  return {latencyMs: l, matchedMs: matched, getDealsMs: g}
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchSolver()

// Gas of every protocol call and of each party's whole path, measured with real transactions on a private
// anvil (receipt.gasUsed), the on-chain job creator's calls (runJob through ExampleClient, submitResults
// with its callback, failJob, refundTimedOut), plus bytecode sizes. Prints tables; asserts nothing.
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {createServer} from 'node:net'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {ContractFactory, JsonRpcProvider, Signature, Wallet, parseEther} from 'ethers'

const require = createRequire(import.meta.url)
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const ARTIFACTS = join(ROOT, 'dist', 'contracts')
const CONTRACTS = [
  'LilypadToken',
  'LilypadUsers',
  'LilypadController',
  'LilypadOnChainJobCreator',
  'ExampleClient',
]
const KEY0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80' // anvil dev account #0
const LP = (n) => parseEther(String(n))

/** The classic Lilypad contracts' figures for the same terms (from the issue). */
const CLASSIC = {jobCreatorPath: 1_027_588, providerPath: 675_220, firstAgree: 809_527}
const EIP170_LIMIT = 24_576

const artifact = (name) => JSON.parse(readFileSync(join(ARTIFACTS, `${name}.json`), 'utf8'))

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function startAnvil() {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const bin = join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil')
  const child = spawn(bin, ['--host', '127.0.0.1', '--port', String(port), '--silent'], {stdio: 'ignore'})
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const ready = async () => {
    try {
      const body = JSON.stringify({jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: []})
      return (await fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body})).ok
    } catch {
      return false
    }
  }
  for (let i = 0; !(await ready()); i += 1) {
    if (i > 500) throw new Error(`anvil did not start on ${url}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const provider = new JsonRpcProvider(url, undefined, {
    cacheTimeout: -1,
    staticNetwork: true,
    pollingInterval: 20,
  })
  const stop = async () => {
    provider.destroy()
    if (child.exitCode === null) process.kill(child.pid, 'SIGTERM')
    await exited
  }
  return {provider, stop}
}

/** Polls for the receipt (ethers' wait() can miss a block an automining anvil already produced). */
async function mined(txPromise) {
  const tx = await txPromise
  for (let i = 0; i < 6000; i += 1) {
    const receipt = await tx.provider.getTransactionReceipt(tx.hash)
    if (receipt !== null) {
      if (receipt.status !== 1) throw new Error(`transaction ${tx.hash} reverted`)
      return receipt
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`transaction ${tx.hash} was not mined`)
}

async function gasOf(txPromise) {
  return Number((await mined(txPromise)).gasUsed)
}

/** The terms of the gas targets; `n` makes the 46-character deal ID unique. */
function deal(n, parties) {
  const dealId = `QmDeal${String(n).padStart(40, '0')}`
  return {
    dealId,
    dataId: `QmData${String(n).padStart(40, '0')}`,
    members: {
      solver: parties.solver,
      jobCreator: parties.jc,
      resourceProvider: parties.rp,
      mediators: [parties.med],
    },
    timeouts: {
      agree: {timeout: 3600n, collateral: 0n},
      submitResults: {timeout: 3600n, collateral: LP(1)},
      judgeResults: {timeout: 3600n, collateral: LP(1)},
      mediateResults: {timeout: 3600n, collateral: 0n},
    },
    pricing: {
      instructionPrice: LP(1),
      paymentCollateral: LP(2),
      resultsCollateralMultiple: 2n,
      mediationFee: LP(1),
    },
  }
}

// What each party must allow the controller to pull in the standard deal.
const JC_ALLOWANCE = LP(3) // payment collateral 2 + judge collateral 1
const RP_ALLOWANCE = LP(2) // submit collateral 1, then results collateral 2 minus the refunded 1

async function permitFor(token, owner, spender, value) {
  const {chainId} = await owner.provider.getNetwork()
  const deadline = 2n ** 40n
  const nonce = await token.nonces(owner.address)
  const signature = await owner.signTypedData(
    {name: 'Lilypad Token', version: '1', chainId, verifyingContract: await token.getAddress()},
    {
      Permit: [
        {name: 'owner', type: 'address'},
        {name: 'spender', type: 'address'},
        {name: 'value', type: 'uint256'},
        {name: 'nonce', type: 'uint256'},
        {name: 'deadline', type: 'uint256'},
      ],
    },
    {owner: owner.address, spender, value, nonce, deadline},
  )
  const {v, r, s} = Signature.from(signature)
  return {value, deadline, v, r, s}
}

export async function benchGas({log = console.log} = {}) {
  const {provider, stop} = await startAnvil()
  try {
    const admin = new Wallet(KEY0, provider)
    let adminNonce = await provider.getTransactionCount(admin.address)
    const send = (fn) => fn({nonce: adminNonce++})
    const factories = Object.fromEntries(
      CONTRACTS.map((name) => [
        name,
        new ContractFactory(artifact(name).abi, artifact(name).bytecode, admin),
      ]),
    )
    const deployGas = {}
    const token = await factories.LilypadToken.deploy({nonce: adminNonce++})
    const users = await factories.LilypadUsers.deploy({nonce: adminNonce++})
    const treasury = Wallet.createRandom().address
    const controller = await factories.LilypadController.deploy(
      await token.getAddress(),
      await users.getAddress(),
      treasury,
      {nonce: adminNonce++},
    )
    const service = Wallet.createRandom().connect(provider)
    await provider.send('anvil_setBalance', [service.address, '0xde0b6b3a7640000'])
    const jobCreator = await factories.LilypadOnChainJobCreator.deploy(
      await token.getAddress(),
      service.address,
      LP(2),
      3600n,
      {nonce: adminNonce++},
    )
    const exampleClient = await factories.ExampleClient.deploy(await jobCreator.getAddress(), {
      nonce: adminNonce++,
    })
    for (const [name, c] of [
      ['LilypadToken', token],
      ['LilypadUsers', users],
      ['LilypadController', controller],
      ['LilypadOnChainJobCreator', jobCreator],
      ['ExampleClient', exampleClient],
    ]) {
      deployGas[name] = await gasOf(Promise.resolve(c.deploymentTransaction()))
    }
    const spender = await controller.getAddress()

    let counter = 0
    /** Fresh accounts holding 100 LP and 1 ETH that never approved anything. */
    const freshParties = async () => {
      const wallets = Array.from({length: 4}, () => Wallet.createRandom().connect(provider))
      for (const w of wallets) {
        await provider.send('anvil_setBalance', [w.address, '0xde0b6b3a7640000'])
        await mined(send((o) => token.transfer(w.address, LP(100), o)))
      }
      const [solver, jc, rp, med] = wallets
      counter += 1
      return {
        solver,
        jc,
        rp,
        med,
        terms: deal(counter, {solver: solver.address, jc: jc.address, rp: rp.address, med: med.address}),
      }
    }
    const as = (c, w) => c.connect(w)
    const agreeArgs = (t) => [t.dealId, t.members, t.timeouts, t.pricing]

    /** Runs one full accept path; returns per-call gas. */
    const acceptPath = async ({order, permit}) => {
      const p = await freshParties()
      const t = p.terms
      const g = {}
      const agreeAs = async (who, allowance) => {
        if (permit) {
          const sig = await permitFor(token, p[who], spender, allowance)
          g[`${who}.agree`] = await gasOf(as(controller, p[who]).agreeWithPermit(...agreeArgs(t), sig))
        } else {
          g[`${who}.approve`] = await gasOf(as(token, p[who]).approve(spender, allowance))
          g[`${who}.agree`] = await gasOf(as(controller, p[who]).agree(...agreeArgs(t)))
        }
      }
      for (const who of order) await agreeAs(who, who === 'jc' ? JC_ALLOWANCE : RP_ALLOWANCE)
      g['rp.addResult'] = await gasOf(as(controller, p.rp).addResult(t.dealId, '', t.dataId, 1n))
      g['jc.acceptResult'] = await gasOf(as(controller, p.jc).acceptResult(t.dealId))
      g.jcPath = (g['jc.approve'] ?? 0) + g['jc.agree'] + g['jc.acceptResult']
      g.rpPath = (g['rp.approve'] ?? 0) + g['rp.agree'] + g['rp.addResult']
      return g
    }

    /** Brings a fresh deal to `stage` with unlimited approvals; returns parties and terms. */
    const dealAt = async (stage) => {
      const p = await freshParties()
      const t = p.terms
      for (const who of ['jc', 'rp']) await mined(as(token, p[who]).approve(spender, LP(100)))
      await mined(as(controller, p.jc).agree(...agreeArgs(t)))
      if (stage === 'negotiating') return p
      await mined(as(controller, p.rp).agree(...agreeArgs(t)))
      if (stage === 'agreed') return p
      await mined(as(controller, p.rp).addResult(t.dealId, '', t.dataId, 1n))
      if (stage === 'submitted') return p
      await mined(as(controller, p.jc).checkResult(t.dealId))
      return p
    }
    const later = async () => {
      await provider.send('evm_increaseTime', [3601])
      await provider.send('evm_mine', [])
    }

    // Escrow empty before the deal (worst case: the controller's LP balance slot goes 0 → non-zero).
    const paths = {}
    for (const [label, opts] of [
      ['approve, JC agrees first', {order: ['jc', 'rp'], permit: false}],
      ['approve, RP agrees first', {order: ['rp', 'jc'], permit: false}],
      ['permit, JC agrees first', {order: ['jc', 'rp'], permit: true}],
      ['permit, RP agrees first', {order: ['rp', 'jc'], permit: true}],
    ]) {
      paths[`${label} (escrow empty)`] = await acceptPath(opts)
    }
    // Escrow already holding another deal's collateral (the usual case on a live network).
    const background = await dealAt('agreed')
    for (const [label, opts] of [
      ['approve, JC agrees first', {order: ['jc', 'rp'], permit: false}],
      ['approve, RP agrees first', {order: ['rp', 'jc'], permit: false}],
    ]) {
      paths[`${label} (escrow busy)`] = await acceptPath(opts)
    }
    // Finish the background deal so later figures start from an empty escrow again.
    await (
      await as(controller, background.rp).addResult(background.terms.dealId, '', background.terms.dataId, 1n)
    ).wait()
    await mined(as(controller, background.jc).acceptResult(background.terms.dealId))

    // Other terminal paths (unlimited approvals given beforehand; the gas of the final call).
    const other = {}
    {
      const p = await dealAt('submitted')
      other['checkResult (JC)'] = await gasOf(as(controller, p.jc).checkResult(p.terms.dealId))
      other['mediationAcceptResult (mediator)'] = await gasOf(
        as(controller, p.med).mediationAcceptResult(p.terms.dealId),
      )
    }
    {
      const p = await dealAt('checked')
      other['mediationRejectResult (mediator)'] = await gasOf(
        as(controller, p.med).mediationRejectResult(p.terms.dealId),
      )
    }
    {
      const p = await dealAt('negotiating')
      await later()
      other['timeoutAgree (JC agreed alone)'] = await gasOf(as(controller, p.jc).timeoutAgree(p.terms.dealId))
    }
    {
      const p = await freshParties()
      await mined(as(token, p.rp).approve(spender, LP(1)))
      await mined(as(controller, p.rp).agree(...agreeArgs(p.terms)))
      await later()
      other['timeoutAgree (RP agreed alone)'] = await gasOf(as(controller, p.rp).timeoutAgree(p.terms.dealId))
    }
    {
      const p = await dealAt('agreed')
      await later()
      other['timeoutSubmitResult (JC)'] = await gasOf(
        as(controller, p.jc).timeoutSubmitResult(p.terms.dealId),
      )
    }
    {
      const p = await dealAt('submitted')
      await later()
      other['timeoutJudgeResult (RP)'] = await gasOf(as(controller, p.rp).timeoutJudgeResult(p.terms.dealId))
    }
    {
      const p = await dealAt('checked')
      await later()
      other['timeoutMediateResult (JC)'] = await gasOf(
        as(controller, p.jc).timeoutMediateResult(p.terms.dealId),
      )
    }

    // The on-chain job creator: the job (cowsay:v0.0.3, one input Message=hi), 46-character deal and
    // data IDs, a 2 LP deposit, fresh payees holding LP that never approved anything.
    const jobs = {}
    {
      const creatorAddress = await jobCreator.getAddress()
      const JOB = ['cowsay:v0.0.3', ['Message=hi']]
      const payee = async () => {
        const w = Wallet.createRandom().connect(provider)
        await provider.send('anvil_setBalance', [w.address, '0xde0b6b3a7640000'])
        await mined(send((o) => token.transfer(w.address, LP(100), o)))
        return w
      }
      const lastJob = () => jobCreator.lastJobId()
      let n = 0
      const ids = () => {
        n += 1
        return [`QmDeal${String(n).padStart(40, '0')}`, `QmData${String(n).padStart(40, '0')}`]
      }
      // First job ever: the job counter and the contract's LP balance slot go 0 → non-zero (worst case).
      // A client contract spends the payee's deposit only with the payee's authorization (one job).
      const clientAddress = await exampleClient.getAddress()
      let p = await payee()
      jobs['approve (payee, 2 LP)'] = await gasOf(as(token, p).approve(creatorAddress, LP(2)))
      jobs['approveClient (payee → ExampleClient, 1 job)'] = await gasOf(
        as(jobCreator, p).approveClient(clientAddress, 1n),
      )
      jobs['ExampleClient.run, first job (escrow empty)'] = await gasOf(as(exampleClient, p).run(...JOB))
      const first = await lastJob()
      p = await payee()
      await mined(as(token, p).approve(creatorAddress, LP(2)))
      await mined(as(jobCreator, p).approveClient(clientAddress, 1n))
      jobs['ExampleClient.run (escrow busy)'] = await gasOf(as(exampleClient, p).run(...JOB))
      const second = await lastJob()
      p = await payee()
      await mined(as(token, p).approve(creatorAddress, LP(2)))
      jobs['runJob from an account (no client)'] = await gasOf(as(jobCreator, p).runJob(...JOB, p.address))
      const direct = await lastJob()
      p = await payee()
      const sig = await permitFor(token, p, creatorAddress, LP(2))
      jobs['runJobWithPermit from an account (no approve)'] = await gasOf(
        as(jobCreator, p).runJobWithPermit(...JOB, p.address, sig),
      )
      const permitted = await lastJob()
      p = await payee()
      await mined(as(token, p).approve(creatorAddress, LP(2)))
      await mined(as(jobCreator, p).approveClient(clientAddress, 1n))
      await mined(as(exampleClient, p).run(...JOB))
      const third = await lastJob()
      jobs['submitResults → ExampleClient (stores both IDs)'] = await gasOf(
        as(jobCreator, service).submitResults(second, ...ids()),
      )
      jobs['submitResults, account client (no callback code)'] = await gasOf(
        as(jobCreator, service).submitResults(direct, ...ids()),
      )
      jobs['failJob → ExampleClient'] = await gasOf(
        as(jobCreator, service).failJob(third, 'the module exited with status 1'),
      )
      jobs['failJob, account client'] = await gasOf(
        as(jobCreator, service).failJob(permitted, 'the module exited with status 1'),
      )
      await later()
      jobs['refundTimedOut → ExampleClient (escrow empties)'] = await gasOf(
        as(jobCreator, p).refundTimedOut(first),
      )
    }

    // Print.
    const num = (n) => (n === undefined ? '-' : n.toLocaleString('en-US'))
    log('Lilypad protocol gas (receipt.gasUsed on anvil; 46-char deal ID, 1 mediator, issue terms)')
    log('')
    log('Whole paths (target ≤ 250,000 each; classic: JC 1,027,588, RP 675,220)')
    log(
      `  ${'scenario'.padEnd(44)} ${'JC path'.padStart(9)} ${'RP path'.padStart(9)}   JC vs classic  RP vs classic`,
    )
    for (const [label, g] of Object.entries(paths)) {
      log(
        `  ${label.padEnd(44)} ${num(g.jcPath).padStart(9)} ${num(g.rpPath).padStart(9)}   ` +
          `${(g.jcPath / CLASSIC.jobCreatorPath).toFixed(3).padStart(12)}× ${(g.rpPath / CLASSIC.providerPath).toFixed(3).padStart(12)}×`,
      )
    }
    log('')
    log('Per call, by scenario')
    const calls = ['jc.approve', 'jc.agree', 'rp.approve', 'rp.agree', 'rp.addResult', 'jc.acceptResult']
    log(`  ${'scenario'.padEnd(44)} ${calls.map((c) => c.padStart(16)).join('')}`)
    for (const [label, g] of Object.entries(paths)) {
      log(`  ${label.padEnd(44)} ${calls.map((c) => num(g[c]).padStart(16)).join('')}`)
    }
    log(`  (classic first agree alone: ${num(CLASSIC.firstAgree)})`)
    log('')
    log('Other terminal paths (gas of the call that ends or advances the deal)')
    for (const [label, gas] of Object.entries(other)) log(`  ${label.padEnd(44)} ${num(gas).padStart(9)}`)
    log('')
    log('On-chain job creator (cowsay:v0.0.3, Message=hi, 2 LP deposit, 46-char deal and data IDs)')
    for (const [label, gas] of Object.entries(jobs)) log(`  ${label.padEnd(52)} ${num(gas).padStart(9)}`)
    log('')
    log(`Bytecode (deployedBytecode bytes vs the EIP-170 limit of ${num(EIP170_LIMIT)}) and deployment gas`)
    const sizes = {}
    for (const name of CONTRACTS) {
      const size = (artifact(name).deployedBytecode.length - 2) / 2
      sizes[name] = size
      log(
        `  ${name.padEnd(26)} ${num(size).padStart(7)} bytes  ${((100 * size) / EIP170_LIMIT).toFixed(1).padStart(5)}% of limit   deploy ${num(deployGas[name]).padStart(10)} gas`,
      )
    }
    return {paths, other, jobs, sizes, deployGas}
  } finally {
    await stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchGas()

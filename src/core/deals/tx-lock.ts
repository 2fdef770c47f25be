/**
 * A signer whose transactions never collide on a nonce, even across processes: every send takes
 * a file lock per (chain, address) under the data directory, asks the node for the `pending`
 * nonce under that lock, broadcasts, and only then releases it. In-process queueing alone
 * (SerialSigner) cannot see another `lilypad run` using the same key.
 */
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {
  AbstractSigner,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from 'ethers'
import {lock} from 'proper-lockfile'

import {lilypadError} from '../errors/index.js'

/** How long a send waits for another process's send before giving up. */
const LOCK_WAIT_MS = 60_000

/** Options of {@link ProcessLockedSigner}. */
export interface ProcessLockOptions {
  /** The data directory; locks live in `<dataDir>/locks/`. */
  dataDir: string
  chainId: number
}

/** Wraps a signer so that sends from every process using the same key are serialized. */
export class ProcessLockedSigner extends AbstractSigner {
  readonly signer: Signer
  readonly #options: ProcessLockOptions
  #queue: Promise<unknown> = Promise.resolve()

  constructor(signer: Signer, options: ProcessLockOptions) {
    super(signer.provider)
    this.signer = signer
    this.#options = options
  }

  override async getAddress(): Promise<string> {
    return this.signer.getAddress()
  }

  override connect(provider: Provider | null): ProcessLockedSigner {
    return new ProcessLockedSigner(this.signer.connect(provider), this.#options)
  }

  override async signTransaction(tx: TransactionRequest): Promise<string> {
    return this.signer.signTransaction(tx)
  }

  override async signMessage(message: string | Uint8Array): Promise<string> {
    return this.signer.signMessage(message)
  }

  override async signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.signer.signTypedData(domain, types, value)
  }

  /** Path of the lock of this signer's (chain, address). */
  async lockPath(): Promise<string> {
    const address = (await this.getAddress()).toLowerCase()
    return join(this.#options.dataDir, 'locks', `tx-${this.#options.chainId}-${address}`)
  }

  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    return this.exclusive(async (raw) => {
      const populated = await raw.populateTransaction({...tx, nonce: null})
      populated.nonce = await raw.getNonce('pending')
      return raw.sendTransaction(populated)
    })
  }

  /**
   * Runs `fn` holding this key's lock, with the raw signer: for steps whose signature depends on
   * on-chain state that a concurrent send would change (a permit's nonce, then the send using it).
   * Sends made through `raw` inside `fn` take the `pending` nonce themselves.
   */
  async exclusive<T>(fn: (raw: Signer) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const release = await this.#acquire()
      try {
        return await fn(this.signer)
      } finally {
        await release()
      }
    }
    const result = this.#queue.then(run, run)
    this.#queue = result.catch(() => undefined)
    return result
  }

  async #acquire(): Promise<() => Promise<void>> {
    const path = await this.lockPath()
    await mkdir(join(this.#options.dataDir, 'locks'), {recursive: true})
    const deadline = Date.now() + LOCK_WAIT_MS
    for (;;) {
      try {
        const release = await lock(path, {
          lockfilePath: `${path}.lock`,
          realpath: false,
          stale: 30_000,
          retries: 0,
          // A compromised lock (a process paused past `stale`) only risks a nonce error, which the
          // node reports; never throw from proper-lockfile's timer.
          onCompromised: () => undefined,
        })
        return async () => {
          await release().catch(() => undefined)
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error
      }
      if (Date.now() >= deadline) {
        throw lilypadError('NONCE_CONFLICT', {
          message: `Another process has held the transaction lock ${path}.lock for over a minute.`,
          hints: ['Wait for the other lilypad process to finish; if none runs, remove the lock directory.'],
          details: {lockPath: `${path}.lock`},
        })
      }
      await delay(5 + Math.floor(Math.random() * 20))
    }
  }
}

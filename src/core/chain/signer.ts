/**
 * A signer that is safe to use from concurrent code: transactions are populated (gas estimated)
 * and sent one at a time, each with the next nonce. A transaction that fails before it is broadcast
 * (for example a revert found while estimating gas) consumes no nonce, so later transactions never
 * wait behind a gap, which is the failure mode of ethers' NonceManager.
 */
import {
  AbstractSigner,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from 'ethers'

/** Wraps `signer` so that concurrent sends get consecutive nonces. */
export class SerialSigner extends AbstractSigner {
  readonly signer: Signer
  #queue: Promise<unknown> = Promise.resolve()
  #nextNonce: number | undefined

  constructor(signer: Signer) {
    super(signer.provider)
    this.signer = signer
  }

  override async getAddress(): Promise<string> {
    return this.signer.getAddress()
  }

  override connect(provider: Provider | null): SerialSigner {
    return new SerialSigner(this.signer.connect(provider))
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

  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const send = async (): Promise<TransactionResponse> => {
      const populated = await this.signer.populateTransaction(tx)
      const pending = await this.signer.getNonce('pending')
      const nonce = Math.max(pending, this.#nextNonce ?? 0)
      populated.nonce = nonce
      try {
        const response = await this.signer.sendTransaction(populated)
        this.#nextNonce = nonce + 1
        return response
      } catch (error) {
        // Whether or not it reached the node, ask the node again next time.
        this.#nextNonce = undefined
        throw error
      }
    }
    const result = this.#queue.then(send, send)
    this.#queue = result.catch(() => undefined)
    return result
  }
}

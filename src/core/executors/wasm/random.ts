/**
 * The randomness a Wasm job sees: a byte stream fixed by the job's seed, so a re-run (by a
 * mediator, or the job creator verifying) reads the same "random" bytes and writes the same result.
 */
import {createHash} from 'node:crypto'

/** Domain separation, so the stream cannot collide with another use of SHA-256 over the seed. */
const DOMAIN = 'lilypad-wasm-random-v1:'

/**
 * A deterministic byte stream: SHA-256 in counter mode. Block `i` is
 * `SHA-256(SHA-256("lilypad-wasm-random-v1:" + seed) ‖ uint64_be(i))`, and the stream is the
 * concatenation of blocks 0, 1, 2, … consumed in order across calls.
 *
 * @param seed - any string; the provider passes the deal id
 * @returns a reader that returns the next `length` bytes of the stream on each call
 * @example
 * const random = createRandomStream('deal-1')
 * random.read(16) // the same 16 bytes for 'deal-1' on every machine
 */
export function createRandomStream(seed: string): {read(length: number): Buffer} {
  const key = createHash('sha256')
    .update(DOMAIN + seed, 'utf8')
    .digest()
  let counter = 0n
  let pending = Buffer.alloc(0)
  const counterBytes = Buffer.alloc(8)
  return {
    read(length: number): Buffer {
      const blocks: Buffer[] = [pending]
      let available = pending.length
      while (available < length) {
        counterBytes.writeBigUInt64BE(counter)
        counter += 1n
        const block = createHash('sha256').update(key).update(counterBytes).digest()
        blocks.push(block)
        available += block.length
      }
      const all = Buffer.concat(blocks, available)
      pending = all.subarray(length)
      return all.subarray(0, length)
    },
  }
}

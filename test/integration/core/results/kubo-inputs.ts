/**
 * Rebuilds the inputs of kubo's deterministic test vectors (kubo test/cli/testutils):
 * a ChaCha20 keystream keyed by sha256(seed) with a zero nonce, and file names drawn from it.
 */
import {createCipheriv, createHash} from 'node:crypto'
import type {Cipher} from 'node:crypto'
import {open} from 'node:fs/promises'

/** kubo's testutils.AlphabetEasy (39 characters; "0" appears twice, as in kubo). */
const ALPHABET_EASY = 'abcdefghijklmnopqrstuvwxyz01234567890-_'

/** The keystream as a cipher over zeros; OpenSSL's 16-byte IV is a 32-bit counter then the nonce. */
function keystream(seed: string): Cipher {
  const key = createHash('sha256').update(seed).digest()
  return createCipheriv('chacha20', key, Buffer.alloc(16))
}

/** The first `size` bytes of kubo's DeterministicRandomReader(seed). */
export function deterministicBytes(size: number, seed: string): Buffer {
  return keystream(seed).update(Buffer.alloc(size))
}

/** Writes `size` bytes of kubo's deterministic stream for `seed` to `path`, 1 MiB at a time. */
export async function writeDeterministicFile(path: string, size: number, seed: string): Promise<void> {
  const cipher = keystream(seed)
  const zeros = Buffer.alloc(1 << 20)
  const handle = await open(path, 'w')
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(left, zeros.length)
      await handle.write(cipher.update(zeros.subarray(0, n)))
      left -= n
    }
  } finally {
    await handle.close()
  }
}

/** kubo's createDeterministicFiles names: `count` names of `length` characters (the last `lastLength`). */
export function deterministicNames(
  count: number,
  length: number,
  lastLength: number,
  seed: string,
): string[] {
  const bytes = deterministicBytes(1 << 20, seed)
  const names: string[] = []
  let offset = 0
  for (let i = 0; i < count; i += 1) {
    const n = i === count - 1 ? lastLength : length
    let name = ''
    for (let j = 0; j < n; j += 1)
      name += ALPHABET_EASY.charAt((bytes[offset + j] ?? 0) % ALPHABET_EASY.length)
    names.push(name)
    offset += n
  }
  return names
}

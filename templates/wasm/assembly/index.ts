// A Lilypad job as a WASI program. The job runs with no clock, no randomness and no network, so
// the same MESSAGE always gives the same output: any provider (or a mediator re-checking the
// result) produces identical bytes.
//
// Input: the MESSAGE environment variable (set from the Message input in
// lilypad_module.json.tmpl) or, failing that, the first command-line argument.
// Output: stdout, which Lilypad returns to the job creator as the file `stdout`.

function countWords(text: string): i32 {
  let words = 0
  let inWord = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const space = c == 32 || c == 9 || c == 10 || c == 13
    if (space) {
      inWord = false
    } else if (!inWord) {
      inWord = true
      words++
    }
  }
  return words
}

/** FNV-1a over the UTF-16 code units: a small fingerprint that shows the run is repeatable. */
function fingerprint(text: string): u32 {
  let hash: u32 = 2166136261
  for (let i = 0; i < text.length; i++) {
    hash ^= <u32>text.charCodeAt(i)
    hash *= 16777619
  }
  return hash
}

// Environment variables, read straight from WASI: the shim's process.env aborts when the
// environment is empty, and a module should not depend on how its runner fills it.
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'environ_sizes_get')
declare function environ_sizes_get(count: usize, bufferSize: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'environ_get')
declare function environ_get(pointers: usize, buffer: usize): u16

function getEnv(name: string): string | null {
  const sizes = memory.data(16)
  if (environ_sizes_get(sizes, sizes + sizeof<usize>()) != 0) return null
  const count = load<usize>(sizes)
  const bufferSize = load<usize>(sizes, sizeof<usize>())
  if (count == 0) return null
  const pointers = new ArrayBuffer(<i32>(count * sizeof<usize>()))
  const buffer = new ArrayBuffer(<i32>bufferSize)
  const base = changetype<usize>(pointers)
  if (environ_get(base, changetype<usize>(buffer)) != 0) return null
  const prefix = name + '='
  for (let i: usize = 0; i < count; i++) {
    const start = load<usize>(base + i * sizeof<usize>())
    let end = start
    while (load<u8>(end) != 0) end++
    const entry = String.UTF8.decodeUnsafe(start, end - start)
    if (entry.startsWith(prefix)) return entry.substring(prefix.length)
  }
  return null
}

function readMessage(): string {
  const fromEnv = getEnv('MESSAGE')
  if (fromEnv !== null) return fromEnv
  if (process.argv.length > 1) return process.argv[1]
  return 'hello'
}

const message = readMessage()

console.log('Message: ' + message)
console.log('Words: ' + countWords(message).toString())
console.log('Reversed: ' + message.split('').reverse().join(''))
console.log('Fingerprint: ' + fingerprint(message).toString(16))

// Takes its time, then succeeds: the devnet uses it for timeouts and progress. It waits with a
// relative clock subscription to poll_oneoff, so it really waits even under a runner that freezes
// the clock for determinism, and its output does not depend on how long the wait took.
// Input: the number of seconds as the only argument (default 1; decimals allowed).

// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'poll_oneoff')
declare function poll_oneoff(subscriptions: usize, events: usize, count: u32, eventCount: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'proc_exit')
declare function proc_exit(code: u32): void

const CLOCK_MONOTONIC: u32 = 1
const EVENT_TYPE_CLOCK: u8 = 0
const MAX_SECONDS: f64 = 86400

function fail(text: string): void {
  process.stderr.write('lilypad-module-sleep: ' + text + '\n')
  proc_exit(1)
}

function requestedSeconds(): string {
  return process.argv.length > 1 ? process.argv[1].trim() : '1'
}

const text = requestedSeconds()
const seconds = F64.parseFloat(text)
if (isNaN(seconds) || seconds < 0 || seconds > MAX_SECONDS) fail('Seconds must be a number from 0 to 86400, not "' + text + '"')

// One subscription (48 bytes) and room for one event (32 bytes).
const subscription = memory.data(48, 8)
const event = memory.data(32, 8)
const nevents = memory.data(8, 8)
memory.fill(subscription, 0, 48)
store<u64>(subscription, 0x736c656570)
store<u8>(subscription, EVENT_TYPE_CLOCK, 8)
store<u32>(subscription, CLOCK_MONOTONIC, 16)
store<u64>(subscription, <u64>(seconds * 1e9), 24)
store<u64>(subscription, 0, 32)
store<u16>(subscription, 0, 40)
const result = poll_oneoff(subscription, event, 1, nevents)
if (result != 0 || load<u16>(event, 8) != 0) fail('poll_oneoff failed (errno ' + result.toString() + ')')

process.stdout.write('lilypad-module-sleep: slept ' + text + ' s\n')

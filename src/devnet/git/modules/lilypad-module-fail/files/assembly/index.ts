// Fails on purpose, after some output: the devnet uses it to show how a failed job is reported.
// Input: the exit code as the only argument (default 3).

// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'proc_exit')
declare function proc_exit(code: u32): void

function exitCode(): u32 {
  if (process.argv.length < 2) return 3
  const code = I32.parseInt(process.argv[1], 10)
  return code >= 1 && code <= 125 ? <u32>code : 3
}

const code = exitCode()
process.stdout.write('lilypad-module-fail: starting, and about to fail\n')
process.stderr.write('lilypad-module-fail: failing on purpose with exit code ' + code.toString() + '\n')
proc_exit(code)

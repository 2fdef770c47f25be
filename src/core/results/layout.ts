/**
 * The names inside a job's result directory (lilypad-protocol.md §1.10, §7): what a resource
 * provider writes and what a job creator finds in `downloaded-files/<dealID>/` after unpacking.
 */

/**
 * The entries of a result directory. `outputs` is the directory a module's job writes its files
 * into (mounted at `/outputs` in the container); the three others are plain files.
 *
 * @example
 * await readFile(join(resultDir, RESULT_FILES.stdout), 'utf8')
 */
export const RESULT_FILES = {
  stdout: 'stdout',
  stderr: 'stderr',
  exitCode: 'exitCode',
  outputs: 'outputs',
} as const

/** One of the names in {@link RESULT_FILES}. */
export type ResultFileName = (typeof RESULT_FILES)[keyof typeof RESULT_FILES]

/**
 * The content of the `exitCode` file for a process exit status: the decimal number with no
 * trailing newline, as Lilypad's own executors write it (`pkg/executor/noop/noop.go` writes the
 * string `"0"` as-is). The exact bytes matter because they are part of the result's data ID.
 *
 * @param code - the exit status, an integer
 * @returns the file content, e.g. `"0"` or `"137"`
 * @throws RangeError when `code` is not a safe integer (a bug in the caller)
 * @example
 * await writeFile(join(dir, RESULT_FILES.exitCode), exitCodeFileContent(0))
 */
export function exitCodeFileContent(code: number): string {
  if (!Number.isSafeInteger(code)) throw new RangeError(`exit code must be an integer, got ${code}`)
  return String(code)
}

/**
 * Reads an `exitCode` file's content back into a number. Surrounding whitespace is tolerated
 * (some executors end the file with a newline); anything else is not an exit code.
 *
 * @param content - the file's text
 * @returns the exit status, or `undefined` when the content is not a decimal integer
 * @example
 * parseExitCodeFile('0\n') // 0
 */
export function parseExitCodeFile(content: string): number | undefined {
  const trimmed = content.trim()
  if (!/^-?\d{1,10}$/.test(trimmed)) return undefined
  return Number(trimmed)
}

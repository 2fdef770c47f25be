/**
 * `-i KEY=VALUE` inputs. Each argument is split at its FIRST `=`, so values may contain `=`, commas
 * and quotes verbatim. This differs on purpose from the Go CLI, whose flag library reads an
 * argument with two or more `=` as a CSV record (`-i a=1,b=2` sets two keys there, one here) and
 * strips surrounding double quotes (lilypad-protocol.md §1.4). A repeated key is an error rather
 * than a silent overwrite.
 */
import {lilypadError} from '../errors/index.js'

/** Template field names: what `{{.Key}}` can reach. */
const INPUT_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Inputs of a module, by name. A null-prototype record, so any key is safe. */
export type ModuleInputs = Readonly<Record<string, string>>

/**
 * Parses `KEY=VALUE` arguments into an inputs record.
 *
 * @param args - the values given to `-i`, in order
 * @returns the inputs (null-prototype object)
 * @throws INPUT_MALFORMED when an argument has no `=` or its key is not an identifier
 * @throws INPUT_DUPLICATE when a key is given twice
 * @example
 * parseInputs(['Message=hello, world', 'Expr=a=b']) // {Message: 'hello, world', Expr: 'a=b'}
 */
export function parseInputs(args: readonly string[]): ModuleInputs {
  const inputs = Object.create(null) as Record<string, string>
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq < 0) {
      throw lilypadError('INPUT_MALFORMED', {
        message: `Input "${arg}" must be KEY=VALUE.`,
        hints: ['Write each input as -i KEY=VALUE, for example -i Message=hello.'],
        details: {input: arg},
      })
    }
    const key = arg.slice(0, eq)
    if (!INPUT_KEY.test(key)) {
      throw lilypadError('INPUT_MALFORMED', {
        message: `Input key "${key}" is not a valid name: use letters, digits and _, not starting with a digit.`,
        hints: ['Keys are the names the module template uses, like -i Message=hello.'],
        details: {key},
      })
    }
    if (Object.hasOwn(inputs, key)) {
      throw lilypadError('INPUT_DUPLICATE', {
        message: `Input "${key}" is given more than once.`,
        hints: [`Pass -i ${key}=… once.`],
        details: {key},
      })
    }
    inputs[key] = arg.slice(eq + 1)
  }
  return inputs
}

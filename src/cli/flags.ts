/**
 * Flags shared by several commands.
 */
import {Flags} from '@oclif/core'

/** `-i KEY=VALUE`, repeatable. Parsed by core's parseInputs so errors carry codes and hints. */
export const inputFlag = Flags.string({
  char: 'i',
  summary: 'Module input as KEY=VALUE; repeat for several. Split at the first =.',
  multiple: true,
  multipleNonGreedy: true,
  default: [],
})

/** `--data-dir`, overriding DATA_DIR. */
export const dataDirFlag = Flags.string({
  summary: 'Data directory (module cache, results). Default: $DATA_DIR or /tmp/lilypad/data.',
  helpGroup: 'GLOBAL',
})

/** `--password-file`, for the keystore password in scripts (never the password itself). */
export const passwordFileFlag = Flags.string({
  summary: 'File whose first line is the keystore password (default $LILYPAD_PASSWORD_FILE, else asked).',
})

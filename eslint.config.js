import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import {defineConfig} from 'eslint/config'
import tseslint from 'typescript-eslint'

/** Layers (DESIGN §5): commands → cli → {ui, core}; devnet → core; core imports nothing above it. */
const outsideCore = ['**/cli/**', '**/ui/**', '**/commands/**', '**/devnet/**']
const terminalLibs = ['chalk', 'ora', '@oclif/core', '@oclif/core/*']

export default defineConfig(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'templates/**',
      'test/fixtures/**',
      'tmp/**',
      'src/core/chain/generated/**',
      'src/devnet/git/modules/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {project: ['./tsconfig.eslint.json'], tsconfigRootDir: import.meta.dirname},
    },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', {allowNumber: true, allowBoolean: true}],
      'no-restricted-imports': [
        'error',
        {
          paths: ['chalk', 'ora'].map((name) => ({
            name,
            message: 'Only src/ui may import terminal libraries.',
          })),
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {group: outsideCore, message: 'core imports nothing above it (DESIGN §5).'},
            {group: terminalLibs, message: 'core never touches the terminal or oclif.'},
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        {object: 'process', property: 'exit', message: 'core never exits; throw a LilypadError.'},
        {object: 'process', property: 'stdout', message: 'core never prints; report through onEvent.'},
        {object: 'process', property: 'stderr', message: 'core never prints; report through onEvent.'},
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/config/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {object: 'process', property: 'env', message: 'only core/config reads the environment.'},
        {object: 'process', property: 'exit', message: 'core never exits; throw a LilypadError.'},
        {object: 'process', property: 'stdout', message: 'core never prints; report through onEvent.'},
        {object: 'process', property: 'stderr', message: 'core never prints; report through onEvent.'},
      ],
    },
  },
  {
    files: ['src/devnet/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {group: ['**/cli/**', '**/ui/**', '**/commands/**'], message: 'devnet builds on core only.'},
          ],
        },
      ],
    },
  },
  {
    files: ['src/ui/**/*.ts'],
    rules: {'no-console': 'off', 'no-restricted-imports': 'off'},
  },
  {
    files: ['src/commands/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['chalk', 'ora'].map((name) => ({
            name,
            message: 'Only src/ui may import terminal libraries.',
          })),
          patterns: [{group: ['**/devnet/**'], message: 'commands reach the devnet through cli/ or core/.'}],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**', 'scripts/**', 'bin/**', '*.js'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // Plain JavaScript (bin, scripts, benchmarks, configs) is linted without type information.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettier,
)

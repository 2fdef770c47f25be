/** Jest in native ESM mode; swc strips types, `npm run typecheck` checks them. */
export default {
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/test/setup.js'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {jsc: {target: 'es2022', parser: {syntax: 'typescript'}}, module: {type: 'es6'}},
    ],
  },
  testTimeout: 60_000,
  verbose: true,
}

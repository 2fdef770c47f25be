/**
 * The Lilypad solver protocol: the JSON shapes and their Go encoding, IDs, state numberings,
 * request authentication, job offers, and the solver API client.
 */
export * from './types.js'
export * from './states.js'
export * from './go-json.js'
export * from './ids.js'
export * from './auth.js'
export * from './offer.js'
export * from './client.js'

/**
 * The lilypad library: everything the CLI does, callable from code.
 *
 * @example
 * import {renderModule, resolveConfig, parseInputs} from 'lilypad'
 * const config = await resolveConfig({flags: {network: 'testnet'}})
 * const {rendered} = await renderModule('cowsay:v0.0.3', parseInputs(['Message=hi']), {config})
 */
export * from './core/config/index.js'
export {ERROR_CODES, type ErrorCode, LilypadError, isLilypadError, lilypadError} from './core/errors/index.js'
export {type ModuleInputs, parseInputs} from './core/module/inputs.js'
export {type RenderedModule, type RenderModuleOptions, renderModule} from './core/module/render-module.js'
export {redact} from './core/util/redact.js'
export {
  RESULT_FILES,
  type ResultFileName,
  exitCodeFileContent,
  parseExitCodeFile,
} from './core/results/layout.js'
export {
  type DataIdEvent,
  type DataIdOptions,
  type ResultVerification,
  computeDataId,
  verifyResult,
} from './core/results/data-id.js'
export {
  DEFAULT_MAX_RESULT_BYTES,
  DEFAULT_MAX_RESULT_ENTRIES,
  type PackResultOptions,
  type ResultArchiveSummary,
  type TarSource,
  type UnpackResultOptions,
  packResult,
  packResultStream,
  unpackResultTar,
} from './core/results/archive.js'
export {
  type RunJobOptions,
  type RunJobResult,
  type RunPreview,
  checkProviders,
  previewRun,
  runJob,
} from './core/deals/run.js'
export {type RunOutcome, type VerifyMode} from './core/deals/follow.js'
export type {RunEvent, RunEventHandler} from './core/deals/events.js'
export {
  type DealActionResult,
  type DealDetails,
  type DealDownloadResult,
  type DealSummary,
  acceptDeal,
  disputeDeal,
  downloadDeal,
  listDeals,
  refundDeal,
  showDeal,
  waitDeal,
} from './core/deals/deals.js'
export {type Journal, type RunRecord, journalPath, openJournal} from './core/deals/journal.js'
export {type DealCost, DEFAULT_MAX_PRICE_LP, dealCost, formatLp, lpToWei} from './core/deals/cost.js'
export {type RunReceipt, receiptPath, specHash} from './core/deals/receipt.js'

/**
 * The local Lilypad network (DESIGN §10). Commands reach it through `src/cli/devnet.ts`.
 */
export {
  type DevnetDownResult,
  type DevnetEvent,
  type DevnetFundResult,
  type DevnetLogLine,
  type DevnetStatus,
  type DevnetUpOptions,
  type DevnetUpResult,
  devnetAdvance,
  devnetDown,
  devnetForeground,
  devnetFund,
  devnetLogServices,
  devnetLogs,
  devnetReset,
  devnetStatus,
  devnetUp,
  ensureDevnet,
} from './supervisor/control.js'
export {type RunningDevnet, runSupervisor, type SupervisorOptions} from './supervisor/supervisor.js'
export {startSolver} from './solver/index.js'
export {startProvider} from './provider/index.js'
export {startMediator} from './mediator/index.js'

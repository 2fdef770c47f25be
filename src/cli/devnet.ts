/**
 * The devnet as commands reach it (commands never import devnet/ directly, DESIGN §5).
 */
export {
  type DevnetDownResult,
  type DevnetEvent,
  type DevnetFundResult,
  type DevnetLogLine,
  type DevnetStatus,
  type DevnetUpResult,
  devnetAdvance,
  devnetDown,
  devnetForeground,
  devnetFund,
  devnetLogs,
  devnetReset,
  devnetStatus,
  devnetUp,
  ensureDevnet,
} from '../devnet/supervisor/control.js'

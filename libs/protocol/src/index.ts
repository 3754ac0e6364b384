export { PROTOCOL_VERSION, DEFAULT_LOCAL_EPOCHS, DEFAULT_MAX_PAYLOAD_BYTES, describeZodError } from './messages';
export { LocalLossSchema, DEFAULT_LOCAL_LOSS, defaultLocalLoss, LOCAL_LOSS_NAMES, parseLocalLoss, formatLocalLoss } from './local-loss';
export type { LocalLoss } from './local-loss';
export {
  TensorSpecSchema,
  WeightsPayloadSchema,
  ErrorSchema,
  HandshakeAuthSchema,
  HelloSchema,
  WelcomeSchema,
  FitConfigSchema,
  FitSchema,
  FitResultSchema,
  TrainMetricsSchema,
  EvaluateSchema,
  EvaluateResultSchema,
  EvaluationSummarySchema,
  CalibrateSchema,
  CalibrateResultSchema,
  HeartbeatSchema,
  ProgressSchema,
  FailureSchema,
  AbortSchema,
  ByeSchema,
} from './messages';
export type {
  WireError,
  HandshakeAuth,
  Hello,
  Welcome,
  FitConfig,
  Fit,
  FitResult,
  Evaluate,
  EvaluateResult,
  EvaluationSummaryWire,
  Calibrate,
  CalibrationTarget,
  CalibrateResult,
  Heartbeat,
  Progress,
  Failure,
  Abort,
  Bye,
  Ack,
  ServerToHospitalEvents,
  HospitalToServerEvents,
} from './messages';
export {
  SECAGG_KEY_BYTES,
  SECAGG_SHARE_BYTES,
  SECAGG_SEALED_SHARES_BYTES,
  SECAGG_MAX_PARTICIPANTS,
  SECAGG_MAX_VECTOR_LENGTH,
  SecAggGraphSchema,
  SecAggSegmentSchema,
  SecAggLayoutSchema,
  SecAggSetupSchema,
  SecAggAdvertiseSchema,
  SecAggPublicKeysSchema,
  SecAggSharesSchema,
  SecAggRelayedSharesSchema,
  SecAggMaskedInputSchema,
  SecAggUnmaskRequestSchema,
  SecAggUnmaskResponseSchema,
  DpHospitalParamsSchema,
  SumFitSchema,
  SumFitResultSchema,
  SumJobSchema,
  SumCalibrateSchema,
  SumCalibrateResultSchema,
  SumEvaluateResultSchema,
  SecAggReplySchema,
} from './secure';
export type {
  SecAggGraph,
  SecAggSegment,
  SecAggLayout,
  SecAggSetup,
  SecAggAdvertise,
  SecAggPublicKeys,
  SecAggShares,
  SecAggRelayedShares,
  SecAggMaskedInput,
  SecAggUnmaskRequest,
  SecAggUnmaskResponse,
  DpHospitalParamsWire,
  SumFit,
  SumFitResult,
  SumJob,
  SumCalibrate,
  SumCalibrateResult,
  SumEvaluateResult,
  SecAggReply,
} from './secure';
export { ERROR_CODES, ProtocolError } from './errors';
export type { ErrorCode } from './errors';
export { encodeWeights, decodeWeights, payloadBytes } from './codec';
export type { WeightsPayload, EncodeOptions, DecodeTarget } from './codec';
export { validateWeights } from './validate';
export type { ExpectedTensor, ValidateOptions } from './validate';
export { sizeOf, countValues, overlayWeights } from './weights';
export type { NamedTensor, NamedWeights, TensorSpec, WireDtype } from './weights';
export { crc32, crc32Js } from './checksum';
export { toFloat16Bits, fromFloat16Bits } from './float16';

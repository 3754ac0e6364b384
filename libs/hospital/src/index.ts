export { Hospital, redact } from './session';
export type { HospitalEvents } from './session';
export { HospitalConfigSchema, TrainerOptionsSchema, DataSourceSchema } from './config';
export type { HospitalConfig, HospitalConfigInput, TrainerOptions, TrainerOptionsInput, DataSource } from './config';
export { InlineTrainer } from './trainer';
export type { LocalTrainer, DatasetFacts, FitOutcome, FitProgress } from './trainer';
export { WorkerTrainer, hospitalProcessCommand } from './worker-trainer';
export { UnmaskedWebSocket, hospitalSocketOptions } from './transport';

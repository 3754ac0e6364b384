export { Simulation } from './simulate';
export type { SimulationResult, SimulationEvents } from './simulate';
export { SimulationOptionsSchema } from './options';
export type { SimulationOptions, SimulationOptionsInput } from './options';

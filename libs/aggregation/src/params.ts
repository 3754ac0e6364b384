import { z } from 'zod';

/** A positive finite rate (learning rates, τ). */
export const rate = z.number().finite().positive();
/** A decay factor in [0, 1). */
export const decay = z.number().finite().min(0).max(0.999999);

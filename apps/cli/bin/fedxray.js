#!/usr/bin/env node
// The `fedxray` command. TypeScript sources run through tsx, so an installed
// checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);

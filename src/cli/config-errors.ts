import { type GatehouseConfig, loadConfig } from '../config/index.js';
import { isGatehouseError } from '../errors/index.js';

/** Loads the configuration, or prints what to fix and returns undefined. */
export function loadConfigOrExplain(env: NodeJS.ProcessEnv = process.env): GatehouseConfig | undefined {
  try {
    return loadConfig({ env, isTty: process.stdout.isTTY === true });
  } catch (error) {
    if (isGatehouseError(error)) {
      console.error(
        `\n${error.message}\n\n(${error.code}; every variable is described in docs/configuration.md)\n`,
      );
      return undefined;
    }
    throw error;
  }
}

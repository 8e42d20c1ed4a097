import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { GatehouseConfig } from '../config/index.js';
import { developmentCaller } from '../identity/development-caller.js';
import type { ToolDefinition } from '../mcp/tool.js';
import { readVersion } from '../ops/build-info.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';
import { openStores, type Stores } from './storage-selection.js';

export interface RunningGatehouse {
  app: FastifyInstance;
  stores: Stores;
  logger: Logger;
  /** The URL the server listens on (the real port when PORT=0). */
  url: string;
  /** Stops accepting requests, lets in-flight ones finish, then closes storage. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  extraTools?: readonly ToolDefinition[];
  /** Progress lines for a person watching the start. */
  onProgress?: (line: string) => void;
}

/** Opens storage, migrates it, builds the app and listens. */
export async function startGatehouse(
  config: GatehouseConfig,
  options: StartOptions = {},
): Promise<RunningGatehouse> {
  const logger = options.logger ?? createLogger(config);
  const progress = options.onProgress ?? (() => {});
  const stores = openStores(config);
  try {
    progress(
      `Storage: ${stores.durable.backend}${stores.ephemeral.backend !== stores.durable.backend ? ` + ${stores.ephemeral.backend} for short-lived state` : ''}`,
    );
    await stores.durable.ping();
    await stores.ephemeral.ping();
    const report = await stores.durable.migrate();
    progress(
      report.applied.length > 0
        ? `Migrations applied: ${report.applied.join(', ')}`
        : `Database schema is up to date (${report.current ?? 'no migrations'})`,
    );

    const caller = await developmentCaller(stores.durable.users);
    const app = await buildApp({
      config,
      logger,
      stores,
      version: readVersion(),
      resolveCaller: () => caller,
      ...(options.extraTools ? { extraTools: options.extraTools } : {}),
    });
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    const port = (app.server.address() as { port: number }).port;
    const url = config.server.port === 0 ? address.replace(/:\d+$/, `:${port}`) : address;
    let closing: Promise<void> | undefined;
    return {
      app,
      stores,
      logger,
      url,
      close() {
        closing ??= (async () => {
          await app.close();
          await stores.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

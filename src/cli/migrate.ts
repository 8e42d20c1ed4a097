import { isGatehouseError } from '../errors/index.js';
import { openStores } from '../http/storage-selection.js';
import { loadConfigOrExplain } from './config-errors.js';
import type { Command } from './run.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending database migrations and exit.',
  help: `Usage: gatehouse migrate

Applies pending migrations to the configured database (PostgreSQL when DATABASE_URL is set,
otherwise the SQLite file under GATEHOUSE_DATA_DIR) and exits. serve also migrates on start;
run this first when several instances start at once or when the schema should change before a deploy.`,
  async run() {
    const config = loadConfigOrExplain();
    if (config === undefined) return 1;
    const stores = openStores(config);
    try {
      const report = await stores.durable.migrate();
      if (report.applied.length === 0)
        console.log(
          `Already up to date (${report.current ?? 'no migrations'}) on ${stores.durable.backend}.`,
        );
      else
        console.log(
          `Applied on ${stores.durable.backend}: ${report.applied.join(', ')}. Now at ${report.current}.`,
        );
      return 0;
    } catch (error) {
      if (isGatehouseError(error)) {
        console.error(`Migration failed: ${error.message} (${error.code})`);
        return 1;
      }
      throw error;
    } finally {
      await stores.close();
    }
  },
};

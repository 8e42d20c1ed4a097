import type { Logger } from 'pino';
import { GatehouseError } from '../errors/index.js';
import type { UpstreamServerRecord, UpstreamServerRepository } from '../storage/contract.js';
import type { SecretBox } from '../tokens/secret-box.js';
import {
  joinSecrets,
  parseServerDefinition,
  type ServerSecrets,
  splitSecrets,
  type UpstreamServer,
} from './server-config.js';

/** A server as the API shows it: its definition with every secret value replaced by {"set": true}. */
export interface ServerView {
  name: string;
  source: 'file' | 'api';
  definition: Record<string, unknown>;
  revision: number | null;
  updatedAt: string | null;
  updatedBy: string | null;
}

interface Entry {
  server: UpstreamServer;
  view: ServerView;
}

/**
 * The upstream servers Gatehouse knows: those declared in the config file (read-only at runtime)
 * and those registered through the API or the registry tools (durable, in the shared database,
 * secret values sealed). Every instance polls the database, so a server registered through one
 * instance is served by all of them within `syncIntervalMs`.
 */
export class ServerRegistry {
  readonly #file = new Map<string, Entry>();
  #stored = new Map<string, Entry & { revision: number }>();
  readonly #listeners = new Set<(servers: readonly UpstreamServer[]) => void>();
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  /** Stored rows that could not be used, by name → revision: reported once, not on every poll. */
  #broken = new Map<string, number>();

  constructor(
    fileServers: readonly UpstreamServer[],
    fileDefinitions: Readonly<Record<string, Record<string, unknown>>>,
    private readonly repository: UpstreamServerRepository,
    private readonly box: SecretBox,
    private readonly options: {
      logger: Logger;
      allowRuntimeStdio: boolean;
      builtInNames: ReadonlySet<string>;
    },
  ) {
    for (const server of fileServers) {
      this.#file.set(server.name, {
        server,
        view: {
          name: server.name,
          source: 'file',
          definition: splitSecrets(fileDefinitions[server.name] ?? {}).definition,
          revision: null,
          updatedAt: null,
          updatedBy: null,
        },
      });
    }
  }

  /** Every server, by name. */
  servers(): UpstreamServer[] {
    return [
      ...this.#file.values(),
      ...[...this.#stored.values()].filter((entry) => !this.#file.has(entry.server.name)),
    ]
      .map((entry) => entry.server)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  views(): ServerView[] {
    return this.servers().map((server) => this.entry(server.name)?.view as ServerView);
  }

  view(name: string): ServerView {
    const entry = this.entry(name);
    if (entry === undefined) throw notFound(name);
    return entry.view;
  }

  onChange(listener: (servers: readonly UpstreamServer[]) => void): void {
    this.#listeners.add(listener);
  }

  /** Reads the stored servers now, and then every `intervalMs`. */
  async start(intervalMs: number): Promise<void> {
    const warn = (error: unknown) =>
      this.options.logger.warn(
        { err: error },
        'the server registry could not be read; serving the last known servers and trying again',
      );
    await this.sync().catch(warn);
    this.#timer = setInterval(() => this.sync().catch(warn), intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async create(name: string, definition: unknown, actor: string | null): Promise<ServerView> {
    if (this.#file.has(name) || this.#stored.has(name)) throw exists(name);
    const { clear, sealed } = this.prepare(name, definition);
    const record = await this.repository.create({
      name,
      definition: clear,
      sealedSecrets: sealed,
      updatedBy: actor,
    });
    if (record === undefined) throw exists(name);
    await this.sync({ fresh: true });
    return this.view(name);
  }

  /** Replaces a registered server's definition; `{"set": true}` keeps a stored secret value. */
  async update(name: string, definition: unknown, actor: string | null): Promise<ServerView> {
    if (this.#file.has(name)) throw readOnly(name);
    const current = await this.repository.find(name);
    if (current === undefined) throw notFound(name);
    let joined: unknown = definition;
    if (definition !== null && typeof definition === 'object' && !Array.isArray(definition)) {
      const result = joinSecrets(definition as Record<string, unknown>, this.secretsOf(current));
      if ('problem' in result) throw invalid(name, [result.problem]);
      joined = result.definition;
    }
    const { clear, sealed } = this.prepare(name, joined);
    const record = await this.repository.update(
      { name, definition: clear, sealedSecrets: sealed, updatedBy: actor },
      current.revision,
    );
    if (record === undefined) {
      throw new GatehouseError(
        'GH_GATEWAY_SERVER_CONFLICT',
        `The server '${name}' was changed or deleted by someone else meanwhile: read it again and retry.`,
      );
    }
    await this.sync({ fresh: true });
    return this.view(name);
  }

  async delete(name: string): Promise<void> {
    if (this.#file.has(name)) throw readOnly(name);
    if (!(await this.repository.delete(name))) throw notFound(name);
    await this.sync({ fresh: true });
  }

  /**
   * Reads the stored servers and tells listeners when anything changed. Concurrent polls share one
   * read; `fresh` waits for a read that starts after the call (a write must see itself).
   */
  sync(options: { fresh?: boolean } = {}): Promise<void> {
    if (options.fresh && this.#syncing !== undefined) {
      return this.#syncing.catch(() => {}).then(() => this.sync());
    }
    this.#syncing ??= this.readStored().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  private async readStored(): Promise<void> {
    const records = await this.repository.list();
    const next = new Map<string, Entry & { revision: number }>();
    const broken = new Map<string, number>();
    let changed = false;
    for (const record of records) {
      const known = this.#stored.get(record.name);
      if (known !== undefined && known.revision === record.revision) {
        next.set(record.name, known);
        continue;
      }
      if (this.#broken.get(record.name) === record.revision) {
        broken.set(record.name, record.revision);
        continue;
      }
      changed = true;
      const entry = this.load(record);
      if (entry !== undefined) next.set(record.name, entry);
      else broken.set(record.name, record.revision);
    }
    if (next.size !== this.#stored.size || [...this.#stored.keys()].some((name) => !next.has(name)))
      changed = true;
    this.#stored = next;
    this.#broken = broken;
    if (changed) {
      const servers = this.servers();
      for (const listener of this.#listeners) listener(servers);
    }
  }

  private load(record: UpstreamServerRecord): (Entry & { revision: number }) | undefined {
    try {
      const result = joinSecrets(record.definition, this.secretsOf(record));
      if ('problem' in result) throw new Error(result.problem);
      const parsed = parseServerDefinition(record.name, result.definition, 'api');
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      return {
        server: parsed.server,
        revision: record.revision,
        view: {
          name: record.name,
          source: 'api',
          definition: record.definition,
          revision: record.revision,
          updatedAt: record.updatedAt.toISOString(),
          updatedBy: record.updatedBy,
        },
      };
    } catch (error) {
      this.options.logger.error(
        { err: error, server: record.name },
        `the stored server '${record.name}' cannot be used; it is left out until it is fixed or deleted`,
      );
      return undefined;
    }
  }

  private secretsOf(record: UpstreamServerRecord): ServerSecrets | null {
    return record.sealedSecrets === null
      ? null
      : (JSON.parse(this.box.open(record.sealedSecrets, record.name)) as ServerSecrets);
  }

  /** Validates a definition for storing and splits off its sealed secrets. */
  private prepare(
    name: string,
    definition: unknown,
  ): { clear: Record<string, unknown>; sealed: string | null } {
    const parsed = parseServerDefinition(name, definition, 'api');
    if (!parsed.ok) throw invalid(name, parsed.problems);
    if (this.options.builtInNames.has(name)) {
      throw invalid(name, [`'${name}' is the name of a built-in tool: choose another name`]);
    }
    if (parsed.server.transport.kind === 'stdio' && !this.options.allowRuntimeStdio) {
      throw new GatehouseError(
        'GH_GATEWAY_STDIO_REFUSED',
        `The server '${name}' is a stdio server: registering one at runtime would start a program on the Gatehouse host, ` +
          'which is off. Declare it in the config file (GATEHOUSE_CONFIG_FILE, "mcpServers"), or set GATEHOUSE_GATEWAY_RUNTIME_STDIO=true to allow administrators to.',
      );
    }
    const { definition: clear, secrets } = splitSecrets(definition as Record<string, unknown>);
    return { clear, sealed: secrets === null ? null : this.box.seal(JSON.stringify(secrets), name) };
  }

  private entry(name: string): Entry | undefined {
    return this.#file.get(name) ?? this.#stored.get(name);
  }
}

function notFound(name: string): GatehouseError {
  return new GatehouseError(
    'GH_GATEWAY_SERVER_NOT_FOUND',
    `No upstream server is named '${name}'. GET /api/servers (or the list_servers tool) lists them.`,
  );
}

function exists(name: string): GatehouseError {
  return new GatehouseError(
    'GH_GATEWAY_SERVER_EXISTS',
    `A server named '${name}' already exists: choose another name, or update it with PUT /api/servers/${name}.`,
  );
}

function readOnly(name: string): GatehouseError {
  return new GatehouseError(
    'GH_GATEWAY_SERVER_READ_ONLY',
    `The server '${name}' is declared in the config file (GATEHOUSE_CONFIG_FILE) and cannot be changed at runtime: edit the file and restart.`,
  );
}

function invalid(name: string, problems: readonly string[]): GatehouseError {
  return new GatehouseError(
    'GH_GATEWAY_INVALID_SERVER',
    `The server definition for '${name}' is invalid: ${problems.join('; ')}.`,
    { detail: { problems } },
  );
}

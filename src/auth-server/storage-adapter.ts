import type { OAuthModelPayload, OAuthModelRecord, OAuthModelRepository } from '../storage/contract.js';

/**
 * oidc-provider's adapter contract, declared here because oidc-provider ships no types. One
 * adapter serves one model name; ids and payloads are the model's own, `expiresIn` is seconds.
 */
export interface Adapter {
  upsert(id: string, payload: OAuthModelPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<OAuthModelPayload | undefined>;
  findByUserCode(userCode: string): Promise<OAuthModelPayload | undefined>;
  findByUid(uid: string): Promise<OAuthModelPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/**
 * What oidc-provider's `adapter` option takes: called, or constructed with `new`, once per model
 * name. oidc-provider constructs anything with a prototype and calls anything else, so this is a
 * plain function and works both ways.
 */
export interface AdapterFactory {
  (name: string): Adapter;
  new (name: string): Adapter;
}

/** A dynamically registered client nobody uses for this long is deleted (DCR is open to anyone). */
export const CLIENT_IDLE_SECONDS = 30 * 24 * 60 * 60;
/** Models whose creation means the client is in use. */
const CLIENT_ACTIVITY_MODELS = new Set(['Grant', 'RefreshToken']);

class StorageAdapter implements Adapter {
  readonly #store: OAuthModelRepository;
  readonly #model: string;

  constructor(store: OAuthModelRepository, model: string) {
    this.#store = store;
    this.#model = model;
  }

  async upsert(id: string, payload: OAuthModelPayload, expiresIn?: number): Promise<void> {
    // Registered clients would otherwise live for ever: one unused for CLIENT_IDLE_SECONDS is gone,
    // and every grant or refresh token it receives extends its life.
    const lifetime = this.#model === 'Client' && expiresIn === undefined ? CLIENT_IDLE_SECONDS : expiresIn;
    await this.#store.upsert(this.#model, id, payload, lifetime);
    const clientId = payload.clientId;
    if (CLIENT_ACTIVITY_MODELS.has(this.#model) && typeof clientId === 'string')
      await this.#extendClient(clientId);
  }

  async #extendClient(clientId: string): Promise<void> {
    const client = await this.#store.find('Client', clientId);
    if (client !== undefined)
      await this.#store.upsert('Client', clientId, client.payload, CLIENT_IDLE_SECONDS);
  }

  async find(id: string): Promise<OAuthModelPayload | undefined> {
    return toPayload(await this.#store.find(this.#model, id));
  }

  async findByUserCode(userCode: string): Promise<OAuthModelPayload | undefined> {
    return toPayload(await this.#store.findByUserCode(this.#model, userCode));
  }

  async findByUid(uid: string): Promise<OAuthModelPayload | undefined> {
    return toPayload(await this.#store.findByUid(this.#model, uid));
  }

  async consume(id: string): Promise<void> {
    // A repeat consume is oidc-provider's to judge (reuse revokes the grant): it sees `consumed`.
    await this.#store.consume(this.#model, id);
  }

  async destroy(id: string): Promise<void> {
    await this.#store.destroy(this.#model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#store.revokeByGrantId(grantId);
  }
}

/** oidc-provider reads a consumed code or token from `consumed`, epoch seconds, in the payload. */
function toPayload(record: OAuthModelRecord | undefined): OAuthModelPayload | undefined {
  if (record === undefined) return undefined;
  if (record.consumedAt === null) return record.payload;
  return { ...record.payload, consumed: Math.floor(record.consumedAt.getTime() / 1000) };
}

/** oidc-provider's `adapter` option over Gatehouse's storage: `adapter: adapterFactory(store.oauthModels)`. */
export function adapterFactory(store: OAuthModelRepository): AdapterFactory {
  // A function, not a class, so it may also be called; `new` returns the object it returns.
  return function createAdapter(name: string): Adapter {
    return new StorageAdapter(store, name);
  } as AdapterFactory;
}

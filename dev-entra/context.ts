import { Directory } from './directory/directory.js';
import type { SigningKeyRing } from './keys/signing-keys.js';
import type { Seed, Switches } from './seed.js';
import { EmulatorState } from './state.js';

export type ProtocolVersion = 'v1' | 'v2';

/** Everything a request handler needs: seed lookups, keys, state, switches, clock and URLs. */
export class EmulatorContext {
  readonly directory: Directory;
  readonly state = new EmulatorState();
  readonly switches: Switches;
  /** When the refresh-refusal switch was last set (emulator milliseconds); older sign-ins are refused. */
  refreshRefusalSince = 0;
  baseUrl = '';

  constructor(
    readonly seed: Seed,
    readonly keys: SigningKeyRing,
    private readonly clock: () => number,
  ) {
    this.directory = new Directory(seed);
    this.switches = copySwitches(seed.switches);
  }

  /** Milliseconds, including the clock-offset switch. */
  now(): number {
    return this.clock() + this.switches.clockOffsetSeconds * 1000;
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  get tenantId(): string {
    return this.seed.tenant.id;
  }

  /** v2 `iss`; `{tenantid}` stays literal for the `common`/`organizations` documents. */
  issuerV2(tid: string = this.tenantId): string {
    return `${this.baseUrl}/${tid}/v2.0`;
  }

  /**
   * v1 `iss`. Real Entra uses `https://sts.windows.net/{tid}/`; the emulator keeps it on its own
   * host (as the US Government cloud does with `login.microsoftonline.us/{tid}/`), so a validator
   * must take it from v1 discovery rather than assume the public cloud.
   */
  issuerV1(tid: string = this.tenantId): string {
    return `${this.baseUrl}/${tid}/`;
  }

  issuer(version: ProtocolVersion, tid?: string): string {
    return version === 'v1' ? this.issuerV1(tid) : this.issuerV2(tid);
  }

  tokenEndpoint(version: ProtocolVersion, segment: string = this.tenantId): string {
    return version === 'v1'
      ? `${this.baseUrl}/${segment}/oauth2/token`
      : `${this.baseUrl}/${segment}/oauth2/v2.0/token`;
  }

  /** Where Graph is served: the emulator answers Graph calls itself. */
  get graphBaseUrl(): string {
    return this.baseUrl;
  }
}

/** A copy whose lists are copies too. */
export function copySwitches(switches: Switches): Switches {
  return {
    ...switches,
    mfaChallengeUsers: [...switches.mfaChallengeUsers],
    refreshRefusalUsers: [...switches.refreshRefusalUsers],
    disabledUsers: [...switches.disabledUsers],
  };
}

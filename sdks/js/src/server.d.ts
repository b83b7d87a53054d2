import type { ClientCredentials } from "./credentials.js";
import { Ithaca as BrowserIthaca } from "./client.js";

export * from "./index.js";

export interface CreateClientCredentialsOptions {
  /** Defaults to process.env.ITHACA_API_KEY. */
  apiKey?: string;
  /** Base URL of the Ithaca API, e.g. "http://127.0.0.1:8080"; defaults to ITHACA_API_URL. */
  apiUrl?: string;
  /** At most 16 string values, 4096 bytes in all. */
  metadata?: Record<string, string>;
  /** Capabilities the streamer must have, e.g. `{image_to_video: true}`. */
  capabilities?: Record<string, boolean>;
  signal?: AbortSignal;
}

/** POST /v1/client_credentials; rejects with a typed IthacaError. */
export function createClientCredentials(
  options?: CreateClientCredentialsOptions,
): Promise<ClientCredentials>;

/** The client with an API key (Node and trusted pages): connect() mints, then connects. */
export class Ithaca extends BrowserIthaca {
  constructor(options?: { apiKey?: string; apiUrl?: string } & Record<string, unknown>);
  connect(handlers?: Parameters<BrowserIthaca["connectWithCredentials"]>[1]): Promise<MediaStream>;
}

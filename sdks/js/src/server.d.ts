import type { ClientCredentials, StreamerCapabilities } from "./credentials.js";
import { Ithaca as BrowserIthaca, type IthacaClientOptions } from "./client.js";

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
  /** The model the session must run on; absent: the server's default model, else any. */
  model?: string;
  signal?: AbortSignal;
}

/** One model of GET /v1/models. */
export interface ModelInfo {
  name: string;
  version: string;
  formats: Record<string, { width: number; height: number; fps: number }>;
  /** The parameters it declares for startStream's params, as the streamer declared them. */
  params: Record<string, unknown>;
  image_to_video: boolean;
  max_sessions: number;
  /** Streamers serving it, their places, and the places in use. */
  streamers: number;
  capacity: number;
  in_use: number;
}

export interface ModelList {
  models: ModelInfo[];
  /** streaming.default_model, or null. */
  default: string | null;
}

/** GET /v1/models with the API key; rejects with a typed IthacaError. */
export function listModels(options?: {
  apiKey?: string;
  apiUrl?: string;
  signal?: AbortSignal;
}): Promise<ModelList>;

/** POST /v1/client_credentials; rejects with a typed IthacaError. */
export function mintClientCredentials(
  options?: CreateClientCredentialsOptions,
): Promise<ClientCredentials>;

/** With options (or none): mintClientCredentials. */
export function createClientCredentials(
  options?: CreateClientCredentialsOptions,
): Promise<ClientCredentials>;
/** With parts: the official SDK's builder (credentialsFromParts), synchronous. */
export function createClientCredentials(
  signalingUrl: string,
  sessionToken: string,
  expiresIn: number,
  capabilities?: StreamerCapabilities | { image_to_video?: boolean },
): ClientCredentials;

/** What createSpectatorToken resolves with (frozen). */
export interface SpectatorTokenInfo {
  spectatorToken: string;
  /** The WHEP base URL for connectToStream. */
  webrtcUrl: string;
  /** The HLS playlist URL, or null without HLS. */
  hlsUrl: string | null;
  streamId: string | null;
  /** Seconds, or null when the server did not say. */
  expiresIn: number | null;
}

/**
 * POST /v1/sessions/{sessionId}/spectator_tokens with the API key: another spectator token for
 * the session's live broadcast (one per viewer, say). Rejects with a typed IthacaError
 * (`stream_not_found` when the session broadcasts nothing).
 */
export function createSpectatorToken(
  sessionId: string,
  options?: { apiKey?: string; apiUrl?: string; signal?: AbortSignal },
): Promise<SpectatorTokenInfo>;

/** The client with an API key (Node and trusted pages): connect() mints, then connects. */
export class Ithaca extends BrowserIthaca {
  constructor(options?: IthacaClientOptions & { apiUrl?: string });
  connect(handlers?: Parameters<BrowserIthaca["connectWithCredentials"]>[1]): Promise<MediaStream>;
  /** Mints with this client's key and URL. */
  createClientCredentials(): Promise<ClientCredentials>;
  createSpectatorToken(sessionId: string): Promise<SpectatorTokenInfo>;
  /** listModels() with this client's key and URL. */
  listModels(): Promise<ModelList>;
}

/** The official SDK's name for the keyed client. */
export { Ithaca as Odyssey };

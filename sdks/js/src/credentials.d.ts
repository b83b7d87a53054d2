/** Streamer capabilities; an absent key means false. */
export interface StreamerCapabilities {
  image_to_video?: boolean;
  [name: string]: unknown;
}

/** Client credentials (frozen). sessionId always comes from the token's claim. */
export interface ClientCredentials {
  readonly sessionId: string;
  readonly signalingUrl: string;
  readonly sessionToken: string;
  readonly expiresIn: number;
  readonly capabilities: Readonly<StreamerCapabilities>;
}

/** The wire form, keys in this order. */
export interface ClientCredentialsDict {
  session_id: string;
  signaling_url: string;
  session_token: string;
  expires_in: number;
  capabilities: StreamerCapabilities;
}

/** The token's `session_id` claim; throws CredentialsError (invalid_token) on a malformed token. */
export function extractSessionId(token: string): string;

/** Reads snake_case (or camelCase) keys; throws CredentialsError naming the bad field. */
export function credentialsFromDict(data: Record<string, unknown>): ClientCredentials;

export function credentialsToDict(c: ClientCredentials): ClientCredentialsDict;

/** Compact JSON, byte-identical in every Ithaca SDK. */
export function credentialsToJSON(c: ClientCredentials): string;

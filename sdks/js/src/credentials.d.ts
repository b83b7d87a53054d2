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

/** Credentials as an app built them for the official SDK (camelCase, sessionId optional). */
export interface ClientCredentialsLike {
  sessionId?: string;
  signalingUrl: string;
  sessionToken: string;
  expiresIn: number;
  capabilities?: object;
}

/** The wire form, keys in this order. (A type, not an interface: it is a Record too.) */
export type ClientCredentialsDict = {
  session_id: string;
  signaling_url: string;
  session_token: string;
  expires_in: number;
  capabilities: StreamerCapabilities;
};

/** The token's `session_id` claim; throws CredentialsError (invalid_token) on a malformed token. */
export function extractSessionId(token: string): string;

/** Reads snake_case (or camelCase) keys; throws CredentialsError naming the bad field. */
export function credentialsFromDict(data: Record<string, unknown>): ClientCredentials;

/** The official SDK's createClientCredentials(signalingUrl, sessionToken, expiresIn, caps?). */
export function credentialsFromParts(
  signalingUrl: string,
  sessionToken: string,
  expiresIn: number,
  capabilities?: StreamerCapabilities | { image_to_video?: boolean },
): ClientCredentials;

/** Also takes credentials built for the official SDK (capabilities absent: `{}`). */
export function credentialsToDict(
  c: ClientCredentials | (ClientCredentialsLike & { sessionId: string }),
): ClientCredentialsDict;

/** Compact JSON, byte-identical in every Ithaca SDK. */
export function credentialsToJSON(
  c: ClientCredentials | (ClientCredentialsLike & { sessionId: string }),
): string;

/** Why a SpectatorConnection ended. */
export type SpectatorDisconnectReason =
  /** disconnect() or close() on this side */
  | "local"
  /** the peer connection's state */
  | "closed"
  | "failed"
  /** the server closed the DTLS transport (the broadcast ended) */
  | "dtls_closed"
  | "dtls_failed"
  | "ice_failed"
  /** ICE stayed "disconnected" longer than iceDisconnectedGraceMs */
  | "ice_disconnected"
  | (string & {});

export interface ConnectToStreamOptions {
  /** Aborts the connect: it rejects with the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
  /** ICE servers to use instead of GET {origin of webrtcUrl}/config. */
  iceServers?: RTCIceServer[];
  /** How long to gather ICE candidates for the (non-trickle) offer; default 5000. */
  iceGatheringTimeoutMs?: number;
  /** From the WHEP answer to a video track on a connected peer; default 30000. */
  trackTimeoutMs?: number;
  /** Budget of GET /config; default 5000. */
  configTimeoutMs?: number;
  /** How long ICE may stay "disconnected" before the connection counts as ended; default 4000. */
  iceDisconnectedGraceMs?: number;
  /** How long disconnect() waits for the DELETE's answer; default 2000. */
  deleteTimeoutMs?: number;
}

/** One spectator's receive-only WHEP connection (no data channel, no commands). */
export class SpectatorConnection {
  private constructor();
  /** Attach to a video element's srcObject. */
  readonly stream: MediaStream;
  readonly connectionState: RTCPeerConnectionState;
  readonly peerConnection: RTCPeerConnection;
  /** The WHEP resource (the answer's Location), or null once left. */
  readonly sessionUrl: string | null;
  readonly closed: boolean;
  readonly endReason: SpectatorDisconnectReason | null;
  /** WHEP DELETE, then close; resolves once the server answered (bounded); never rejects. */
  disconnect(): Promise<void>;
  /** Closes without a DELETE (the broadcast is ending anyway, or the page unloads). */
  close(): void;
  /** Each handler runs once when the connection ends (at once if it already has). */
  onDisconnect(handler: (reason: SpectatorDisconnectReason) => void): void;
}

/**
 * Watches a broadcast: resolves once the video track arrived and the peer is connected.
 * Rejects with AuthError (401), StreamError (404), ConnectionError (webrtc_unavailable,
 * spectator_limit_reached, network_error, peer_connection_failed, track_timeout...).
 */
export function connectToStream(
  webrtcUrl: string,
  spectatorToken: string,
  options?: ConnectToStreamOptions,
): Promise<SpectatorConnection>;

// The official SDK's names (@odysseyml/odyssey 1.3.1) for this SDK's own; see odyssey-compat.js.
import type {
  BroadcastInfo,
  IthacaEventHandlers,
  InteractOptions,
  StartStreamOptions,
} from "./client.js";
import type {
  ListSimulationsOptions,
  ListStreamRecordingsOptions,
  Recording,
  SimulateOptions,
  SimulateResult,
  SimulateStatus,
  SimulationsList,
  StreamRecordingsListResponse,
} from "./hosted-only.js";

export { Ithaca as Odyssey } from "./client.js";
export { credentialsFromParts as createClientCredentials } from "./credentials.js";
export {
  AuthError as OdysseyAuthError,
  ConnectionError as OdysseyConnectionError,
  IthacaError as OdysseyError,
  StreamError as OdysseyStreamError,
  UsageError as OdysseyUsageError,
} from "./errors.js";
export type {
  ListStreamRecordingsOptions,
  Recording,
  StreamRecordingSummary,
  StreamRecordingsListResponse,
} from "./hosted-only.js";

/** On: the client logs status changes and signaling messages to console.debug. */
export function setDebug(enabled: boolean): void;

/** Throws the usage error a 429 answer's body describes (also under `detail`), or returns. */
export function throwIfUsageError(status: number, data: unknown): void;

/** The official constructor's options. */
export interface ClientConfig {
  /** Only "@ithaca/sdk/server"'s client uses it. */
  apiKey?: string;
}

export type OdysseyEventHandlers = IthacaEventHandlers;

/** The body of a 429 usage error, as the official SDK reads it. */
export interface UsageErrorData {
  code?: string;
  error?: string;
  message: string;
  action: string;
  action_url?: string;
  details?: Record<string, unknown>;
}

/** What the official React hook (useOdyssey, not part of this SDK) returns. */
export interface OdysseyClient {
  connect: () => Promise<MediaStream>;
  disconnect: () => void;
  startStream: (options?: StartStreamOptions) => Promise<string>;
  interact: (options: InteractOptions) => Promise<string>;
  endStream: () => Promise<void>;
  attachToVideo: (videoElement: HTMLVideoElement | null) => HTMLVideoElement | null;
  getRecording: (streamId: string) => Promise<Recording>;
  listStreamRecordings: (
    options?: ListStreamRecordingsOptions,
  ) => Promise<StreamRecordingsListResponse>;
  simulate: (options: SimulateOptions) => Promise<SimulateResult>;
  getSimulateStatus: (jobId: string) => Promise<SimulateStatus>;
  listSimulations: (options?: ListSimulationsOptions) => Promise<SimulationsList>;
  cancelSimulation: (jobId: string) => Promise<{ job_id: string; status: string }>;
  status:
    "authenticating" | "disconnected" | "connecting" | "reconnecting" | "connected" | "failed";
  error: string | null;
  isConnected: boolean;
  mediaStream: MediaStream | null;
  sessionId: string | null;
  broadcastInfo: BroadcastInfo | null;
}

// The official SDK's recording and simulation types (hosted Odyssey only). Ithaca's client has
// the methods that return them, and they reject with a RequestError `not_supported`.

export interface Recording {
  stream_id: string;
  video_url: string | null;
  events_url: string | null;
  thumbnail_url: string | null;
  preview_url: string | null;
  frame_count: number | null;
  duration_seconds: number | null;
}

export interface StreamRecordingSummary {
  stream_id: string;
  width: number;
  height: number;
  started_at: string;
  ended_at: string | null;
  duration_seconds: number | null;
}

export interface StreamRecordingsListResponse {
  recordings: StreamRecordingSummary[];
  total: number;
  limit: number;
  offset: number;
}

export interface ListStreamRecordingsOptions {
  limit?: number;
  offset?: number;
}

export type SimulationJobStatus =
  "pending" | "dispatched" | "processing" | "completed" | "failed" | "cancelled";

export interface SimulationScriptEntry {
  timestamp_ms: number;
  start?: { prompt: string; image?: Blob | string };
  interact?: { prompt: string };
  end?: Record<string, never>;
}

export interface SimulateOptions {
  script?: SimulationScriptEntry[];
  scripts?: SimulationScriptEntry[][];
  script_url?: string;
  portrait?: boolean;
  bypassPromptExpansion?: boolean;
}

export interface SimulateResult {
  job_id: string;
  status: string;
  priority: string;
  created_at: string;
  estimated_wait_minutes: number | null;
}

export interface SimulationStream {
  stream_id: string;
  video_url: string | null;
  events_url: string | null;
  thumbnail_url: string | null;
  preview_url: string | null;
  frame_count: number | null;
  duration_seconds: number | null;
  script_index: number;
}

export interface SimulateStatus {
  job_id: string;
  status: SimulationJobStatus;
  priority: string;
  created_at: string;
  dispatched_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  error_message: string | null;
  assigned_region: string | null;
  retry_count: number;
  streams: SimulationStream[];
}

export interface ListSimulationsOptions {
  status?: SimulationJobStatus;
  active?: boolean;
  limit?: number;
  offset?: number;
}

export interface SimulationsList {
  jobs: Array<{
    job_id: string;
    status: string;
    priority: string;
    created_at: string;
    completed_at: string | null;
    error_message: string | null;
  }>;
  total: number;
  limit: number;
  offset: number;
}

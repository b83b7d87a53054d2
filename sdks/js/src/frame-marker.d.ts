/** Blocks in the marker strip along the frame's top-left edge. */
export const MARKER_BLOCKS: number;
/** Width of one block in a 1280x704 (or 704x1280) frame, px. */
export const MARKER_BLOCK_WIDTH: number;
/** Height of one block, px. */
export const MARKER_BLOCK_HEIGHT: number;
/** The least white - black level difference of a readable marker. */
export const MARKER_MIN_CONTRAST: number;

/** The 4 check bits of a sequence number. */
export function markerCheckBits(sequence: number): number;

/** The sequence number of RGBA pixels holding the marker strip scaled by `scale`, or null. */
export function decodeMarker(
  image: { data: ArrayLike<number>; width: number; height: number },
  scale?: number,
): number | null;

/** The marker of the frame a <video> shows now, or null; reuse `canvas` between calls. */
export function readVideoMarker(video: HTMLVideoElement, canvas?: HTMLCanvasElement): number | null;

export interface FrameInfo extends Partial<VideoFrameCallbackMetadata> {
  /** The callback's time (performance.now() clock). */
  now: number;
}

/** Calls onFrame for every presented frame; returns a function that stops it. */
export function watchFrames(
  video: HTMLVideoElement,
  onFrame: (frame: FrameInfo) => void,
): () => void;
